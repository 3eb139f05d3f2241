"""`vertrouwd run` as a service: channels, the ops listener, systemd and reloads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from bot.channels import build_channels, serve
from bot.ops.systemd import as_a_service, notify
from bot.runtime import Runtime

log = logging.getLogger(__name__)


async def reload_texts(runtime: Runtime) -> None:
    """What `systemctl reload` asks: read the locale files again now."""
    notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
    changed = await runtime.texts.reload_if_changed()
    log.info("reload asked: %s", "texts changed" if changed else "texts unchanged")
    notify("READY=1")


async def run_service(
    runtime: Runtime, stopping: asyncio.Event, clock: Callable[[], float] = time.time
) -> None:
    """Serve until ``stopping`` is set, telling systemd where it stands."""
    channels = build_channels(runtime)
    async with as_a_service(lambda: reload_texts(runtime)), _ops(runtime, channels, clock):
        notify("READY=1\nSTATUS=serving")
        await serve(runtime, stopping, channels)


@contextlib.asynccontextmanager
async def _ops(
    runtime: Runtime, channels: Sequence[object], clock: Callable[[], float]
) -> AsyncIterator[None]:
    if runtime.config.ops is None:
        yield
        return
    from bot.ops.server import ops_listener  # aiohttp's server and prometheus: when asked for

    async with ops_listener(runtime, channels, clock):
        yield
