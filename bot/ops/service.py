"""`vertrouwd run` as a service: channels, the ops listener, systemd and reloads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence

from bot.channels import build_channels, serve
from bot.ops.systemd import notify, pet_watchdog, watchdog_interval
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
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()

    def on_hangup() -> None:
        task = asyncio.create_task(reload_texts(runtime))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    interval = watchdog_interval()
    pets = asyncio.create_task(pet_watchdog(interval)) if interval else None
    try:
        async with _ops(runtime, channels, clock):
            notify("READY=1\nSTATUS=serving")
            await serve(runtime, stopping, channels)
    finally:
        notify("STOPPING=1")
        loop.remove_signal_handler(signal.SIGHUP)
        if pets is not None:
            pets.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pets


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
