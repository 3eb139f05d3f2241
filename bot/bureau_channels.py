"""Serving a bureau's organisations: the channels of each organisation that come and go
with it (its own Telegram bot), the bureau's own bot and direct chats (a code first),
and the bureau's one Matrix sync for every organisation's rooms."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.channels import Channel, serve_channels, telegram_channel
from bot.ops.readiness import ReportsReadiness
from bot.runtime import Runtime
from bot.runtime.bureau import Bureau

log = logging.getLogger(__name__)


class OrganisationChannels:
    """Each organisation's own channels, started when it is opened and stopped before
    it closes, while the bureau serves."""

    ops_name = "organisations' channels"  # its name in /readyz

    def __init__(self, bureau: Bureau) -> None:
        self._running: dict[str, tuple[asyncio.Event, list[asyncio.Task[None]]]] = {}
        self._channels: dict[str, list[Channel]] = {}
        self._serving = False
        self._bureau = bureau
        bureau.on_opened.append(self._opened)
        bureau.on_closing.append(self._closing)

    async def _opened(self, organisation_id: str, runtime: Runtime) -> None:
        if self._serving:
            self._start(organisation_id, runtime)

    def _start(self, organisation_id: str, runtime: Runtime) -> None:
        channels = [c for c in (telegram_channel(runtime),) if c is not None]
        stopping = asyncio.Event()
        tasks = [asyncio.create_task(channel.run(stopping)) for channel in channels]
        for task in tasks:
            task.add_done_callback(_report_failure(organisation_id))
        self._running[organisation_id] = (stopping, tasks)
        self._channels[organisation_id] = channels

    async def readiness(self) -> str | None:
        """None while every organisation's own channels are connected; else which are
        not, by organisation id (for the operator's /readyz)."""
        problems = []
        for organisation_id, channels in list(self._channels.items()):
            for channel in channels:
                if isinstance(channel, ReportsReadiness):
                    problem = await channel.readiness()
                    if problem is not None:
                        problems.append(f"{organisation_id} {channel.ops_name}: {problem}")
        return "; ".join(problems) or None

    async def _closing(self, organisation_id: str) -> None:
        self._channels.pop(organisation_id, None)
        stopping, tasks = self._running.pop(organisation_id, (None, []))
        if stopping is not None:
            stopping.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, stopping: asyncio.Event) -> None:
        self._serving = True
        for organisation_id, runtime in self._bureau.runtimes.items():
            self._start(organisation_id, runtime)
        try:
            await stopping.wait()
        finally:
            self._serving = False
            for organisation_id in list(self._running):
                await self._closing(organisation_id)


def _report_failure(organisation_id: str) -> Callable[[asyncio.Task[None]], None]:
    def report(task: asyncio.Task[None]) -> None:
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            log.error(
                "organisation %s: a channel stopped (%s)", organisation_id, type(exc).__name__
            )

    return report


def bureau_channels(bureau: Bureau) -> list[Channel]:
    channels: list[Channel] = [OrganisationChannels(bureau)]
    config = bureau.config
    if config.telegram is not None or config.matrix_dm is not None:
        # The bureau's own bot and direct chats: a code first, then the organisation.
        from bot.organisations.bureau_bot import BureauBot

        channels.append(BureauBot(bureau))
    if bureau.config.web is not None:
        # One listener for every organisation's web chat (aiohttp loads only then).
        from bot.adapters.web.bureau import BureauWeb

        channels.append(BureauWeb(bureau))
    session = bureau.shared.matrix_session
    if session is not None:
        # Every organisation's adviser rooms and admin room listen to the one account.
        from bot.matrix.listening import MatrixSyncLoop

        sync_loop = MatrixSyncLoop(session)
        if bureau.shared.observer is not None:
            sync_loop.observer = bureau.shared.observer  # the bureau's one set of metrics
        channels.append(sync_loop)
    return channels


async def serve_bureau(bureau: Bureau, stopping: asyncio.Event) -> None:
    """Serve every organisation until ``stopping`` is set."""
    await serve_channels(bureau_channels(bureau), stopping)
