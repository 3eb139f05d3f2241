"""Serving employees on the channels the config switches on, until asked to stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.config import Config, ConfigError
from bot.runtime import Runtime

log = logging.getLogger(__name__)


class Channel(Protocol):
    async def run(self, stopping: asyncio.Event) -> None:
        """Serve until ``stopping`` is set, then finish what is in hand and return."""


def check_channels(config: Config) -> None:
    """Fail before anything starts when no channel is on or a channel's secret is missing."""
    if config.telegram is None and config.matrix_dm is None and config.admin is None:
        raise ConfigError(
            "no channel is switched on: set enabled = true under [telegram] or [matrix_dm]"
            " (to try the bot in this terminal, use `vertrouwd chat`)"
        )
    if config.telegram is not None:
        config.telegram.token()


def build_channels(runtime: Runtime) -> list[Channel]:
    channels: list[Channel] = []
    config = runtime.config
    if config.telegram is not None:
        # Imported here: python-telegram-bot is only loaded when the channel is on.
        from bot.adapters.telegram import TelegramChannel

        telegram = TelegramChannel(
            config.telegram, config.telegram.token(), runtime.engine, lambda: runtime.catalog
        )
        runtime.texts.reload_listeners.append(telegram.texts_changed)
        telegram.relay = runtime.relay
        telegram.observer = runtime.observer
        channels.append(telegram)
    session = runtime.matrix_session
    if session is not None and session.listeners:
        # Direct chats and the admin room listen to the session's syncs.
        from bot.matrix.listening import MatrixSyncLoop

        sync_loop = MatrixSyncLoop(session)
        sync_loop.observer = runtime.observer
        channels.append(sync_loop)
    return channels


async def serve(
    runtime: Runtime, stopping: asyncio.Event, channels: list[Channel] | None = None
) -> None:
    """Run every channel (those given, or those the config switches on); when one
    fails, the others stop too and the failure is raised."""
    if channels is None:
        channels = build_channels(runtime)
    tasks = [asyncio.create_task(channel.run(stopping)) for channel in channels]
    stop_requested = asyncio.create_task(stopping.wait())
    await asyncio.wait([*tasks, stop_requested], return_when=asyncio.FIRST_COMPLETED)
    stopping.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await stop_requested
    for result in results:
        if isinstance(result, BaseException):
            raise result
