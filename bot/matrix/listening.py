"""The sync loop: while the bot runs, the homeserver is asked for news continuously.

Whoever listens to the session (direct chats, the admin room) gets each sync's
events; the loop only keeps syncing, logging in again and waiting out a homeserver
that is away.
"""

from __future__ import annotations

import asyncio
import logging

from bot.matrix.errors import HomeserverUnreachable, MatrixHttpError
from bot.matrix.http import NETWORK_ERRORS
from bot.matrix.session import MatrixSession

_RETRY_MAX_SECONDS = 60.0

log = logging.getLogger(__name__)


class MatrixSyncLoop:
    def __init__(self, session: MatrixSession) -> None:
        self._session = session

    async def run(self, stopping: asyncio.Event) -> None:
        """Sync until ``stopping`` is set; an unreachable homeserver is waited out."""
        session = self._session
        delay = 1.0
        while not stopping.is_set():
            try:
                if not session.ready:
                    await session.open()
                    log.info("matrix: listening")
                await session.sync(session.settings.poll_seconds * 1000)
                delay = 1.0
                continue
            except (HomeserverUnreachable, *NETWORK_ERRORS) as exc:
                log.warning("matrix homeserver unreachable (%s); retrying", type(exc).__name__)
            except MatrixHttpError as exc:
                log.warning("matrix sync refused (%s)", exc.errcode or exc.status)
                if exc.errcode == "M_UNKNOWN_TOKEN":
                    await session.close()  # the next round logs in again
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, _RETRY_MAX_SECONDS)
        log.info("matrix: stopped listening")
