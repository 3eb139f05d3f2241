"""Matrix canonical JSON and Ed25519 signatures on JSON objects (spec: "Signing JSON")."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def unpadded_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def decode_unpadded_b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


_INT_LIMIT = 2**53 - 1


def _check_canonical(value: Any) -> None:
    """Canonical JSON has no floats and only integers within ±(2**53 - 1)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -_INT_LIMIT <= value <= _INT_LIMIT:
            raise ValueError("integer out of canonical JSON range")
    elif isinstance(value, float):
        raise ValueError("floats are not canonical JSON")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("object keys must be strings")
            _check_canonical(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_canonical(item)
    else:
        raise ValueError(f"not JSON: {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """The spec's canonical JSON; ValueError for what it does not allow."""
    _check_canonical(value)
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    ).encode("utf-8")


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return unpadded_b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def _signable(obj: dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def sign_json(obj: dict[str, Any], user_id: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of ``obj`` with this key's signature added under ``user_id``."""
    signed = copy.deepcopy(obj)
    signature = unpadded_b64(key.sign(_signable(obj)))
    signed.setdefault("signatures", {}).setdefault(user_id, {})[
        f"ed25519:{public_key_b64(key)}"
    ] = signature
    return signed


def verify_json(obj: dict[str, Any], user_id: str, key_id: str, public_key: str) -> bool:
    """Whether ``obj`` carries a valid signature by ``public_key`` under ``user_id``/``key_id``."""
    signatures = as_dict(as_dict(obj).get("signatures")).get(user_id)
    signature = as_dict(signatures).get(key_id)
    if not isinstance(signature, str) or not isinstance(public_key, str):
        return False
    try:
        verifier = Ed25519PublicKey.from_public_bytes(decode_unpadded_b64(public_key))
        verifier.verify(decode_unpadded_b64(signature), _signable(obj))
    except (InvalidSignature, ValueError):
        return False
    return True


def single_ed25519_key(key_object: dict[str, Any]) -> tuple[str, str] | None:
    """(key id, public key) of a cross-signing key object with exactly one ed25519 key."""
    keys = [
        (k, v)
        for k, v in as_dict(as_dict(key_object).get("keys")).items()
        if isinstance(k, str) and k.startswith("ed25519:")
    ]
    return keys[0] if len(keys) == 1 and isinstance(keys[0][1], str) else None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a malformed server answer
    then reads as missing, never as an AttributeError."""
    return value if isinstance(value, dict) else {}
