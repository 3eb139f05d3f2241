"""Serving employees on the channels the config switches on, until asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Protocol

from bot.config import Config, ConfigError
from bot.runtime import Runtime

log = logging.getLogger(__name__)


class Channel(Protocol):
    async def run(self, stopping: asyncio.Event) -> None:
        """Serve until ``stopping`` is set, then finish what is in hand and return."""


def check_channels(config: Config) -> None:
    """Fail before anything starts when no channel is on or a channel's secret is missing."""
    if (
        config.telegram is None
        and config.matrix_dm is None
        and config.admin is None
        and config.web is None
    ):
        raise ConfigError(
            "no channel is switched on: set enabled = true under [telegram], [matrix_dm]"
            " or [web]"
            " (to try the bot in this terminal, use `vertrouwd chat`)"
        )
    if config.telegram is not None:
        config.telegram_token()


def telegram_channel(runtime: Runtime) -> Channel | None:
    """The Telegram bot the config names, serving this runtime's people."""
    config = runtime.config
    if config.telegram is None:
        return None
    # Imported here: python-telegram-bot is only loaded when the channel is on.
    from bot.adapters.telegram.channel import TelegramChannel

    telegram = TelegramChannel(
        config.telegram, config.telegram_token(), runtime.engine, lambda: runtime.catalog
    )
    runtime.texts.reload_listeners.append(telegram.texts_changed)
    telegram.relay = runtime.relay
    telegram.observer = runtime.observer
    return telegram


def build_channels(runtime: Runtime) -> list[Channel]:
    channels: list[Channel] = []
    config = runtime.config
    telegram = telegram_channel(runtime)
    if telegram is not None:
        channels.append(telegram)
    if config.web is not None and runtime.keys is not None:
        channels.append(web_channel(runtime))
    session = runtime.matrix_session
    if session is not None and session.listeners:
        # Direct chats and the admin room listen to the session's syncs.
        from bot.matrix.listening import MatrixSyncLoop

        sync_loop = MatrixSyncLoop(session)
        sync_loop.observer = runtime.observer
        channels.append(sync_loop)
    return channels


def web_channel(runtime: Runtime) -> Channel:
    # Imported here: aiohttp's server and the templates only load when the web is on.
    from bot.adapters.web import WebChannel

    config = runtime.config
    assert config.web is not None and runtime.keys is not None
    return WebChannel(
        config,
        config.web,
        runtime.engine,
        runtime.store,
        lambda: runtime.catalog,
        runtime.keys,
        time.time,
        runtime.relay,
    )


async def serve(
    runtime: Runtime, stopping: asyncio.Event, channels: list[Channel] | None = None
) -> None:
    """Run every channel (those given, or those the config switches on); when one
    fails, the others stop too and the failure is raised."""
    await serve_channels(build_channels(runtime) if channels is None else channels, stopping)


async def serve_channels(channels: list[Channel], stopping: asyncio.Event) -> None:
    """Run the channels until ``stopping`` is set; when one fails, the others stop too
    and the failure is raised."""
    tasks = [asyncio.create_task(channel.run(stopping)) for channel in channels]
    stop_requested = asyncio.create_task(stopping.wait())
    await asyncio.wait([*tasks, stop_requested], return_when=asyncio.FIRST_COMPLETED)
    stopping.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await stop_requested
    for result in results:
        if isinstance(result, BaseException):
            raise result


@contextlib.asynccontextmanager
async def matrix_listening(runtime: Runtime) -> AsyncIterator[None]:
    """While the block runs, sync for whoever listens to the Matrix session.

    For `vertrouwd chat` with the Matrix sink: the adviser answers in the case's
    thread, and only a sync brings that answer to the person at the terminal."""
    session = runtime.matrix_session
    if session is None or not session.listeners:
        yield
        return
    from bot.matrix.listening import MatrixSyncLoop

    stopping = asyncio.Event()
    task = asyncio.create_task(MatrixSyncLoop(session).run(stopping), name="matrix-sync")
    task.add_done_callback(_report_stopped)
    try:
        yield
    finally:
        stopping.set()
        # The loop ends after its current long poll; a person leaving waits no longer
        # than this (what that poll brought is fetched again at the next start).
        done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:
            task.cancel()
            await asyncio.wait({task})


def _report_stopped(task: asyncio.Task[None]) -> None:
    exc = None if task.cancelled() else task.exception()
    if exc is not None:
        log.error(
            "matrix: stopped listening (%s); the adviser's answers arrive after a restart",
            type(exc).__name__,
        )
