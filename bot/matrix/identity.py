"""The bot's cross-signing identity: created once, uploaded, and signing its device.

Clients such as Element hide messages from devices their owner has not
cross-signed (MSC4153), and matrix-nio does not cross-sign; this module does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from bot.matrix.errors import CrossSigningError, MatrixHttpError
from bot.matrix.http import MatrixHttp
from bot.matrix.signing import (
    as_dict,
    public_key_b64,
    sign_json,
    single_ed25519_key,
    verify_json,
)

USAGES = ("master", "self_signing", "user_signing")


@dataclass(frozen=True)
class CrossSigningKeys:
    master: Ed25519PrivateKey
    self_signing: Ed25519PrivateKey
    user_signing: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        return cls(*(Ed25519PrivateKey.generate() for _ in USAGES))

    def to_dict(self) -> dict[str, str]:
        return {
            usage: base64.b64encode(
                getattr(self, usage).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            ).decode()
            for usage in USAGES
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> CrossSigningKeys:
        return cls(
            *(Ed25519PrivateKey.from_private_bytes(base64.b64decode(data[u])) for u in USAGES)
        )

    def _key_object(self, user_id: str, usage: str) -> dict[str, Any]:
        public = public_key_b64(getattr(self, usage))
        return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}

    def upload_body(self, user_id: str) -> dict[str, Any]:
        master = self._key_object(user_id, "master")
        return {
            "master_key": master,
            "self_signing_key": sign_json(
                self._key_object(user_id, "self_signing"), user_id, self.master
            ),
            "user_signing_key": sign_json(
                self._key_object(user_id, "user_signing"), user_id, self.master
            ),
        }


async def _upload_identity(
    http: MatrixHttp, user_id: str, keys: CrossSigningKeys, password: Callable[[], str]
) -> None:
    path = "/_matrix/client/v3/keys/device_signing/upload"
    body = keys.upload_body(user_id)
    try:
        await http.request("POST", path, body)
        return
    except MatrixHttpError as error:
        if error.status != 401 or "session" not in error.body:
            raise CrossSigningError(f"identity upload refused: {error}") from error
        session = error.body["session"]
    # The server asks who we are before it accepts (or replaces) an identity.
    body["auth"] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password(),
        "session": session,
    }
    try:
        await http.request("POST", path, body)
    except MatrixHttpError as error:
        raise CrossSigningError(f"identity upload refused: {error}") from error


async def ensure_cross_signed(
    http: MatrixHttp,
    user_id: str,
    device_id: str,
    keys: CrossSigningKeys,
    password: Callable[[], str],
    own_keys: dict[str, str],
) -> str:
    """Make the server hold our identity and our device signed by it; says what it did.

    ``own_keys`` are the device's identity keys from its own Olm account ("ed25519",
    "curve25519"): only a device object carrying exactly these, self-signed by them, is
    signed. The server's answer alone proves nothing. ``password`` is asked for only
    when the server wants it (to accept an identity).
    """
    did = "already cross-signed"
    query = await http.keys_query([user_id])
    server_master = as_dict(query.get("master_keys")).get(user_id)
    ours = public_key_b64(keys.master)
    if not server_master or (single_ed25519_key(server_master) or ("", ""))[1] != ours:
        await _upload_identity(http, user_id, keys, password)
        query = await http.keys_query([user_id])
        did = "identity uploaded"
    device = as_dict(as_dict(query.get("device_keys")).get(user_id)).get(device_id)
    if device is None:
        raise CrossSigningError("the bot's device keys are not on the server")
    if not is_own_device(device, user_id, device_id, own_keys):
        raise CrossSigningError(
            "the server's copy of this device's keys differs from the device's own keys; "
            "nothing was signed"
        )
    ssk_public = public_key_b64(keys.self_signing)
    if verify_json(device, user_id, f"ed25519:{ssk_public}", ssk_public):
        return did
    unsigned = {k: v for k, v in device.items() if k != "unsigned"}
    signed = sign_json(unsigned, user_id, keys.self_signing)
    result = await http.request(
        "POST", "/_matrix/client/v3/keys/signatures/upload", {user_id: {device_id: signed}}
    )
    if result.get("failures"):
        raise CrossSigningError("the device signature was refused")
    return "device signed" if did == "already cross-signed" else f"{did}, device signed"


def is_own_device(device: object, user_id: str, device_id: str, own_keys: dict[str, str]) -> bool:
    """Whether a /keys/query device object is this very device: its ids, exactly its own
    identity keys, and its own signature over all of it."""
    ed25519, curve25519 = own_keys.get("ed25519"), own_keys.get("curve25519")
    if not isinstance(device, dict) or not ed25519 or not curve25519:
        return False
    wanted = {f"ed25519:{device_id}": ed25519, f"curve25519:{device_id}": curve25519}
    return (
        device.get("user_id") == user_id
        and device.get("device_id") == device_id
        and device.get("keys") == wanted
        and verify_json(device, user_id, f"ed25519:{device_id}", ed25519)
    )
