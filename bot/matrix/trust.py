"""Which of a user's devices are cross-signed by that user's own identity.

Pure: it reads a /keys/query response and answers with device ids; the sink
decides what to do with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.matrix.signing import as_dict, single_ed25519_key, verify_json


@dataclass(frozen=True)
class DeviceTrust:
    user_id: str
    master_key: str | None  # public key, unpadded base64; None if the user has none
    eligible: dict[str, str] = field(default_factory=dict)  # device id -> ed25519 key
    excluded: dict[str, str] = field(default_factory=dict)  # device id -> display name
    malformed: bool = False  # the server's answer was not shaped as the spec says


def device_trust(keys_query: dict[str, Any], user_id: str) -> DeviceTrust:
    """Devices signed by the user's self-signing key, which is signed by their master key.

    A malformed answer (a list where an object belongs, say) counts as no identity,
    with ``malformed`` set so the problem can be named."""
    if not isinstance(keys_query, dict):
        return DeviceTrust(user_id, None, malformed=True)
    devices = as_dict(as_dict(keys_query.get("device_keys")).get(user_id))
    names = {
        device_id: str(
            as_dict(as_dict(keys).get("unsigned")).get("device_display_name") or device_id
        )
        for device_id, keys in devices.items()
    }
    malformed = any(not isinstance(keys, dict) for keys in devices.values())
    master = as_dict(keys_query.get("master_keys")).get(user_id)
    master_key = single_ed25519_key(master) if isinstance(master, dict) else None
    if (
        master is None
        or master_key is None
        or master.get("user_id") != user_id
        or "master" not in _usage(master)
    ):
        return DeviceTrust(user_id, None, {}, names, malformed or master is not None)
    self_signing = as_dict(keys_query.get("self_signing_keys")).get(user_id)
    ssk = single_ed25519_key(self_signing) if isinstance(self_signing, dict) else None
    if (
        not isinstance(self_signing, dict)
        or ssk is None
        or self_signing.get("user_id") != user_id
        or "self_signing" not in _usage(self_signing)
        or not verify_json(self_signing, user_id, master_key[0], master_key[1])
    ):
        odd = self_signing is not None and not isinstance(self_signing, dict)
        return DeviceTrust(user_id, master_key[1], {}, names, malformed or odd)
    eligible: dict[str, str] = {}
    for device_id, keys in devices.items():
        ed25519 = as_dict(as_dict(keys).get("keys")).get(f"ed25519:{device_id}")
        if (
            isinstance(ed25519, str)
            and keys.get("user_id") == user_id
            and keys.get("device_id") == device_id
            and verify_json(keys, user_id, ssk[0], ssk[1])
            and verify_json(keys, user_id, f"ed25519:{device_id}", ed25519)
        ):
            eligible[device_id] = ed25519
    excluded = {d: n for d, n in names.items() if d not in eligible}
    return DeviceTrust(user_id, master_key[1], eligible, excluded, malformed)


def _usage(key_object: dict[str, Any]) -> list[Any]:
    usage = key_object.get("usage")
    return usage if isinstance(usage, list) else []


def trust_problem(trust: DeviceTrust, pinned_master_key: str | None) -> str | None:
    """Why no handoff may go to this user now, as a code; None when it may.

    The sink defers with this code and the doctor explains it: one rule for both.
    """
    if trust.malformed and not trust.eligible:
        return "keys-answer-malformed"
    if trust.master_key is None:
        return "adviser-not-cross-signed"
    if pinned_master_key is not None and pinned_master_key != trust.master_key:
        return "adviser-identity-changed"
    if not trust.eligible:
        return "no-eligible-device"
    return None
