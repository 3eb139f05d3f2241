"""Talking to systemd: readiness, status and watchdog pets over $NOTIFY_SOCKET.

The protocol is one datagram per message on a Unix socket (sd_notify(3)); without
NOTIFY_SOCKET (not started by systemd with Type=notify) every call does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

log = logging.getLogger(__name__)


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. "READY=1") to the service manager; False when none listens."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("could not notify the service manager (%s)", type(exc).__name__)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to pet the watchdog (half its timeout), or None when it is off."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def pet_watchdog(interval: float) -> None:
    """Pet from the event loop: a loop that hangs stops petting and systemd restarts it."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def as_a_service(reload: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """While the block runs: SIGHUP (`systemctl reload`) runs ``reload``, the watchdog
    is petted; at its end systemd is told the service is stopping."""
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()

    async def reloading() -> None:
        await reload()

    def on_hangup() -> None:
        task = asyncio.create_task(reloading())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    interval = watchdog_interval()
    pets = asyncio.create_task(pet_watchdog(interval)) if interval else None
    try:
        yield
    finally:
        notify("STOPPING=1")
        loop.remove_signal_handler(signal.SIGHUP)
        if pets is not None:
            pets.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pets
