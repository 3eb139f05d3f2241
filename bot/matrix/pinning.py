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

from bot.config import Adviser, Config, ConfigError
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


def pin_target(config: Config, name: str) -> tuple[str, str]:
    """Whose pin ``name`` means: an adviser's id, or an admin's Matrix id (admins are
    pinned at first sight in the admin room). Returns (who, Matrix user id)."""
    if config.admin is not None and name in config.admin.users:
        return f"admin {name}", name
    adviser: Adviser = config.adviser(name)
    if not adviser.matrix_user_id:
        raise ConfigError(f"adviser {adviser.id} has no matrix_user_id")
    return f"adviser {adviser.id}", adviser.matrix_user_id


async def identity_now(session: MatrixSession, user_id: str) -> Pin:
    """The pinned and the current master key of the user (the session is open)."""
    http = session.http
    assert http is not None
    trust = device_trust(await http.keys_query([user_id]), user_id)
    return Pin(session.state.pinned_master_keys.get(user_id), trust.master_key)


def pin(session: MatrixSession, who: str, user_id: str, master_key: str) -> None:
    session.state.pinned_master_keys[user_id] = master_key
    session.save_state()
    log.warning("pinned the identity of %s: %s", who, fingerprint(master_key))
