"""Sleeping until woken or a deadline, without swallowing a cancellation.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives just as
the awaited event is set, leaving a worker that never stops; ``asyncio.timeout``
has no such race.
"""

from __future__ import annotations

import asyncio
import contextlib


async def sleep_until_woken(wake: asyncio.Event, timeout: float | None) -> None:
    """Return when ``wake`` is set or after ``timeout`` seconds (None: no limit)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await wake.wait()
