"""An adviser's identity, pinned at `matrix setup` and changed only by an admin.

The pin is the adviser's master key as the bot first saw it; a different key stops
every handoff to them (it may be someone else). An adviser who resets their identity
in Element gets a new one; `vertrouwd matrix repin` then shows the old and the new
fingerprint, and after the admin has compared them with the adviser (in person), pins
the new one. Either way the admin can compare the fingerprint with what the adviser's
Element shows (Settings, Encryption or Security: the cross-signing master key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Adviser
from bot.matrix.session import MatrixSession
from bot.matrix.trust import device_trust

log = logging.getLogger(__name__)


def fingerprint(master_key: str) -> str:
    """The key in groups of four, the way Element shows it for comparing."""
    return " ".join(master_key[i : i + 4] for i in range(0, len(master_key), 4))


@dataclass(frozen=True)
class Pin:
    pinned: str | None  # the master key pinned before, if any
    current: str | None  # the master key the server shows now, if any


async def identity_now(session: MatrixSession, adviser: Adviser) -> Pin:
    """The pinned and the current master key of the adviser (the session is open)."""
    http = session.http
    assert http is not None
    keys = await http.keys_query([adviser.matrix_user_id])
    trust = device_trust(keys, adviser.matrix_user_id)
    return Pin(session.state.pinned_master_keys.get(adviser.matrix_user_id), trust.master_key)


def pin(session: MatrixSession, adviser: Adviser, master_key: str) -> None:
    session.state.pinned_master_keys[adviser.matrix_user_id] = master_key
    session.save_state()
    log.warning("pinned the identity of adviser %s: %s", adviser.id, fingerprint(master_key))
