"""`vertrouwd run` for a bureau: every organisation's channels, systemd, reloads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from bot.bureau_channels import bureau_channels
from bot.channels import serve_channels
from bot.ops.systemd import as_a_service, notify
from bot.runtime.bureau import Bureau

log = logging.getLogger(__name__)


async def reload_bureau(bureau: Bureau) -> None:
    """What `systemctl reload` asks: look at the organisations and every one's texts now."""
    notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
    await bureau.reconcile()
    changed = 0
    for runtime in bureau.runtimes.values():
        changed += await runtime.texts.reload_if_changed()
    log.info("reload asked: texts of %d organisation(s) changed", changed)
    notify("READY=1")


async def run_bureau_service(
    bureau: Bureau, stopping: asyncio.Event, clock: Callable[[], float] = time.time
) -> None:
    """Serve until ``stopping`` is set, telling systemd where it stands."""
    channels = bureau_channels(bureau)
    async with as_a_service(lambda: reload_bureau(bureau)), _ops(bureau, channels, clock):
        notify(f"READY=1\nSTATUS=serving {len(bureau.runtimes)} organisation(s)")
        await serve_channels(channels, stopping)


@contextlib.asynccontextmanager
async def _ops(
    bureau: Bureau, channels: Sequence[object], clock: Callable[[], float]
) -> AsyncIterator[None]:
    """One ops listener for the whole bureau, when [ops] is on."""
    if bureau.config.ops is None:
        yield
        return
    from bot.ops.bureau_ops import bureau_ops_listener  # aiohttp's server: when asked for

    async with bureau_ops_listener(bureau, channels, clock):
        yield
