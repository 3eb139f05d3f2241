"""One Megolm session per message about a case, and none kept once it is sent.

nio keeps an inbound copy of every outbound session it creates; with the data folder
and the server's copy of the events, that copy would decrypt the message for good.
So each handoff (or post in a case's thread) is encrypted with a session used for
nothing else, and the bot drops that session, copy included, as soon as it is sent.
The next session is shared in the background right after, so that a handoff does not
wait for a key share; it is only used if it went to exactly the devices eligible then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from nio import AsyncClient

from bot.matrix.forget import drop_inbound_session
from bot.util.failures import describe_failure

log = logging.getLogger(__name__)


class OneUseRoomKeys:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._next: dict[str, asyncio.Task[None]] = {}

    def lock(self, room_id: str) -> asyncio.Lock:
        """Held while a room's session is shared and used: one at a time per room."""
        return self._locks.setdefault(room_id, asyncio.Lock())

    @staticmethod
    def drop(client: AsyncClient, room_id: str) -> None:
        """The room's current outbound session goes, with the bot's inbound copy."""
        assert client.olm is not None
        session = client.olm.outbound_group_sessions.get(room_id)
        if session is not None:
            client.invalidate_outbound_session(room_id)
            client.olm.outbound_group_sessions.pop(room_id, None)
            drop_inbound_session(client, room_id, session.id)

    def drop_used(self, client: AsyncClient, room_id: str) -> None:
        """Keep the current session only if nothing was encrypted with it yet."""
        assert client.olm is not None
        session = client.olm.outbound_group_sessions.get(room_id)
        if session is not None and session.message_count > 0:
            self.drop(client, room_id)

    def share_next(self, room_id: str, share: Callable[[], Awaitable[None]]) -> None:
        """Share the room's next session now, in the background."""

        async def run() -> None:
            async with self.lock(room_id):
                try:
                    await share()
                except Exception as exc:  # noqa: BLE001 - the next send shares it itself
                    log.info("next room key not shared ahead: %s", describe_failure(exc))

        previous = self._next.get(room_id)
        if previous is not None and not previous.done():
            return
        self._next[room_id] = asyncio.create_task(run())

    async def close(self, client: AsyncClient | None) -> None:
        """Stop sharing ahead; drop the sessions shared ahead but never used."""
        for task in self._next.values():
            task.cancel()
        for task in self._next.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if client is not None and client.olm is not None:
            for room_id in list(self._next):
                self.drop(client, room_id)
        self._next.clear()
