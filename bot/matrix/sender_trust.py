"""Whether an incoming Matrix event comes from whom its sender id names.

The sender id alone is the homeserver's word: anyone with that user's access token,
or the server itself, can write under it. What proves more is the cryptography: the
event was decrypted, with a room key from a device whose keys the sender's own
identity cross-signed, and that identity is the one pinned for them.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.matrix.session import MatrixSession
from bot.matrix.signing import as_dict
from bot.matrix.trust import device_trust

log = logging.getLogger(__name__)


def pin_identity(session: MatrixSession, user_id: str, master_key: str) -> str:
    """The pinned master key for ``user_id``: ``master_key`` when none was pinned yet."""
    pins = session.state.pinned_master_keys
    if user_id not in pins:
        pins[user_id] = master_key
        session.save_state()
        log.info("pinned a Matrix identity at first sight")
    return pins[user_id]


async def sender_problem(session: MatrixSession, room_id: str, event: Any) -> str | None:
    """Why ``event`` may not be acted on as its sender's word, as a code; None when it may.

    The sender's identity is pinned at first sight (for advisers already at setup).
    """
    if not getattr(event, "decrypted", False):
        return "not-encrypted"
    client, http = session.client, session.http
    assert client is not None and client.olm is not None and http is not None
    megolm = client.olm.inbound_group_store.get(
        room_id, getattr(event, "sender_key", None) or "", getattr(event, "session_id", None) or ""
    )
    if megolm is None or megolm.forwarding_chain:
        return "room-key-not-from-the-sender"  # a forwarded key proves no device
    sender: str = event.sender
    keys = await http.keys_query([sender])
    trust = device_trust(keys, sender)
    if trust.master_key is None:
        return "keys-answer-malformed" if trust.malformed else "sender-not-cross-signed"
    if pin_identity(session, sender, trust.master_key) != trust.master_key:
        return "sender-identity-changed"
    devices = as_dict(as_dict(keys.get("device_keys")).get(sender))
    for device_id, ed25519 in trust.eligible.items():
        curve25519 = as_dict(as_dict(devices.get(device_id)).get("keys")).get(
            f"curve25519:{device_id}"
        )
        if ed25519 == megolm.ed25519 and curve25519 == event.sender_key:
            return None
    return "device-not-cross-signed"
