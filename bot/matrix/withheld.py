"""Telling a device why it got no room key: the spec's ``m.room_key.withheld``.

A device the bot leaves out of a Megolm session on purpose (not cross-signed by its
owner's identity) would otherwise show "waiting for this message" for ever. Current
clients send it this to-device event instead, and Element then says the message was
not sent to insecure devices. Each device is told once per session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote

from nio import AsyncClient

from bot.matrix.errors import HomeserverUnreachable, MatrixHttpError
from bot.matrix.guard import MEGOLM
from bot.matrix.http import NETWORK_ERRORS, MatrixHttp

WITHHELD = "m.room_key.withheld"
UNVERIFIED = "m.unverified"

log = logging.getLogger(__name__)

Device = tuple[str, str]  # (user id, device id)


def withheld_content(room_id: str, session_id: str, sender_key: str, reason: str) -> dict[str, Any]:
    """The event's content for one Megolm session, code ``m.unverified``."""
    return {
        "algorithm": MEGOLM,
        "code": UNVERIFIED,
        "reason": reason,
        "room_id": room_id,
        "session_id": session_id,
        "sender_key": sender_key,
    }


def left_out(client: AsyncClient, users: Iterable[str]) -> set[Device]:
    """The devices of ``users`` that the bot keeps out of the room's keys (blacklisted)
    for not being verified by their owner. The bot's own older devices are left out
    for another reason (their store is gone) and are not told."""
    return {
        (user_id, device.id)
        for user_id in users
        if user_id != client.user_id
        for device in client.device_store.active_user_devices(user_id)
        if device.blacklisted
    }


class WithheldNotices:
    """Which devices have been told, per room, for the room's current session."""

    def __init__(self) -> None:
        self._told: dict[str, tuple[str, set[Device]]] = {}

    async def tell(
        self,
        client: AsyncClient,
        http: MatrixHttp,
        room_id: str,
        devices: set[Device],
        reason: Callable[[], Awaitable[str]],
    ) -> None:
        """Send the notice to those of ``devices`` not told yet about the current session.

        Only a courtesy to the left-out device: when it cannot be sent, the message
        itself is not held back, and the next send tries again."""
        assert client.olm is not None
        session = client.olm.outbound_group_sessions.get(room_id)
        if session is None or not session.shared:
            return
        session_id, told = self._told.get(room_id, (session.id, set()))
        if session_id != session.id:
            told = set()
        fresh = devices - told - session.users_shared_with
        if not fresh:
            return
        sender_key = client.olm.account.identity_keys["curve25519"]
        content = withheld_content(room_id, session.id, sender_key, await reason())
        messages: dict[str, dict[str, Any]] = {}
        for user_id, device_id in sorted(fresh):
            messages.setdefault(user_id, {})[device_id] = content
        # A fresh transaction id: one reused with other devices would be dropped.
        path = f"/_matrix/client/v3/sendToDevice/{quote(WITHHELD)}/vertrouwd-{uuid.uuid4().hex}"
        try:
            await http.request("PUT", path, {"messages": messages})
        except (HomeserverUnreachable, MatrixHttpError, *NETWORK_ERRORS) as exc:
            log.warning("matrix: withheld notice not sent (%s)", type(exc).__name__)
            return
        self._told[room_id] = (session.id, told | fresh)
        log.info("matrix: told %d left-out device(s) why they got no room key", len(fresh))
