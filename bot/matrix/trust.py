"""Which of a user's devices are cross-signed by that user's own identity.

Pure: it reads a /keys/query response and answers with device ids; the sink
decides what to do with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.matrix.signing import single_ed25519_key, verify_json


@dataclass(frozen=True)
class DeviceTrust:
    user_id: str
    master_key: str | None  # public key, unpadded base64; None if the user has none
    eligible: dict[str, str] = field(default_factory=dict)  # device id -> ed25519 key
    excluded: dict[str, str] = field(default_factory=dict)  # device id -> display name


def device_trust(keys_query: dict[str, Any], user_id: str) -> DeviceTrust:
    """Devices signed by the user's self-signing key, which is signed by their master key."""
    devices: dict[str, Any] = keys_query.get("device_keys", {}).get(user_id, {})
    names = {
        device_id: str((keys.get("unsigned") or {}).get("device_display_name") or device_id)
        for device_id, keys in devices.items()
    }
    master = keys_query.get("master_keys", {}).get(user_id)
    master_key = single_ed25519_key(master) if isinstance(master, dict) else None
    if master is None or master_key is None or master.get("user_id") != user_id:
        return DeviceTrust(user_id, None, {}, names)
    self_signing = keys_query.get("self_signing_keys", {}).get(user_id)
    ssk = single_ed25519_key(self_signing) if isinstance(self_signing, dict) else None
    if (
        self_signing is None
        or ssk is None
        or "self_signing" not in self_signing.get("usage", [])
        or not verify_json(self_signing, user_id, master_key[0], master_key[1])
    ):
        return DeviceTrust(user_id, master_key[1], {}, names)
    eligible: dict[str, str] = {}
    for device_id, keys in devices.items():
        ed25519 = keys.get("keys", {}).get(f"ed25519:{device_id}")
        if (
            isinstance(ed25519, str)
            and keys.get("user_id") == user_id
            and keys.get("device_id") == device_id
            and verify_json(keys, user_id, ssk[0], ssk[1])
            and verify_json(keys, user_id, f"ed25519:{device_id}", ed25519)
        ):
            eligible[device_id] = ed25519
    excluded = {d: n for d, n in names.items() if d not in eligible}
    return DeviceTrust(user_id, master_key[1], eligible, excluded)


def trust_problem(trust: DeviceTrust, pinned_master_key: str | None) -> str | None:
    """Why no handoff may go to this user now, as a code; None when it may.

    The sink defers with this code and the doctor explains it: one rule for both.
    """
    if trust.master_key is None:
        return "adviser-not-cross-signed"
    if pinned_master_key is not None and pinned_master_key != trust.master_key:
        return "adviser-identity-changed"
    if not trust.eligible:
        return "no-eligible-device"
    return None
