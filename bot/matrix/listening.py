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
from bot.ops.observe import NO_OBSERVER, Observer

_RETRY_MAX_SECONDS = 60.0

log = logging.getLogger(__name__)


class MatrixSyncLoop:
    observer: Observer = NO_OBSERVER  # counts failed syncs for the metrics
    ops_name = "matrix"  # its name in /readyz (direct chats and the admin room)

    def __init__(self, session: MatrixSession) -> None:
        self._session = session
        self._problem: str | None = "not synced yet"

    async def readiness(self) -> str | None:
        """None while the last sync went through; else what is wrong (for /readyz)."""
        return self._problem

    async def run(self, stopping: asyncio.Event) -> None:
        """Sync until ``stopping`` is set; an unreachable homeserver is waited out."""
        session = self._session
        delay = 1.0
        while not stopping.is_set():
            try:
                if not session.ready:
                    await session.open()
                    log.info("matrix: listening")
                self._problem = None
                await session.sync(session.settings.poll_seconds * 1000)
                delay = 1.0
                continue
            except (HomeserverUnreachable, *NETWORK_ERRORS) as exc:
                self._failed(f"homeserver unreachable ({type(exc).__name__})")
                log.warning("matrix homeserver unreachable (%s); retrying", type(exc).__name__)
            except MatrixHttpError as exc:
                self._failed(f"sync refused ({exc.errcode or exc.status})")
                log.warning("matrix sync refused (%s)", exc.errcode or exc.status)
                if exc.errcode == "M_UNKNOWN_TOKEN":
                    await session.close()  # the next round logs in again
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, _RETRY_MAX_SECONDS)
        self._problem = "stopped"
        log.info("matrix: stopped listening")

    def _failed(self, problem: str) -> None:
        self._problem = problem
        self.observer.channel_error("matrix")
