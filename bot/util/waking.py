"""Sleeping until woken or a deadline, without swallowing a cancellation.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives just as
the awaited event is set, leaving a worker that never stops; ``asyncio.timeout``
has no such race.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


async def sleep_until_due(
    wake: asyncio.Event,
    next_at: float | None,
    clock: Callable[[], float],
    poll: float | None = None,
) -> None:
    """Sleep until woken, until ``next_at`` on ``clock`` (None: no deadline), and at
    most ``poll`` seconds when given."""
    wait = None if next_at is None else max(0.0, next_at - clock())
    if poll is not None:
        wait = poll if wait is None else min(wait, poll)
    await sleep_until_woken(wake, wait)


async def sleep_until_woken(wake: asyncio.Event, timeout: float | None) -> None:
    """Return when ``wake`` is set or after ``timeout`` seconds (None: no limit)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await wake.wait()
