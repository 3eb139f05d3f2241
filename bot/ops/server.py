"""The ops listener: /healthz, /readyz and /metrics, on an address of their own.

/metrics answers with the snapshot taken at the last whole ``ops.metrics_every_minutes``
(bot/ops/metrics.py says why), and asks for the bearer token when one is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

import aiohttp
from aiohttp import web

from bot.config import ConfigError
from bot.config.process import OpsSettings
from bot.ops.metrics import CONTENT_TYPE, PrometheusObserver, next_boundary
from bot.ops.readiness import OK, Readiness
from bot.runtime import Runtime
from bot.store.base import Waiting

log = logging.getLogger(__name__)


Checks = Callable[[aiohttp.ClientSession], "ReadinessChecks"]
Queues = Callable[[], Awaitable[Waiting]]


class ReadinessChecks(Protocol):
    async def checks(self) -> dict[str, str]:
        """Every check's answer: "ok" or what is wrong."""


_READINESS = web.AppKey("readiness", ReadinessChecks)


class Snapshots:
    """The metrics as they were at the last whole interval of the clock."""

    def __init__(self, waiting: Queues, observer: PrometheusObserver, every: float) -> None:
        self._waiting, self._observer, self.every = waiting, observer, every
        self.body: bytes | None = None  # None: the store could not be read

    async def take(self) -> None:
        try:
            waiting = await self._waiting()
        except Exception as exc:  # noqa: BLE001 - the scraper gets a 503, not a traceback
            log.error("metrics: the store cannot be read (%s)", type(exc).__name__)
            self.body = None
            return
        self.body = self._observer.render(waiting, self.every)

    async def keep_taking(self) -> None:
        while True:
            await asyncio.sleep(max(next_boundary(time.time(), self.every) - time.time(), 0))
            await self.take()


def _authorised(request: web.Request, token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def ops_app(
    settings: OpsSettings, observer: PrometheusObserver, waiting: Queues, readiness: Checks
) -> web.Application:
    """The listener's routes over whatever is served: one organisation's runtime, or a
    bureau's (``waiting``: the queues; ``readiness``: the checks, given an HTTP client)."""
    token = settings.metrics_token()
    snapshots = Snapshots(waiting, observer, settings.metrics_every_minutes * 60)
    app = web.Application()

    async def open_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as http:
            app[_READINESS] = readiness(http)
            await snapshots.take()
            taking = asyncio.create_task(snapshots.keep_taking())
            yield
            taking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await taking

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="alive\n")

    async def readyz(request: web.Request) -> web.Response:
        checks = await request.app[_READINESS].checks()
        ready = all(answer == OK for answer in checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        if not _authorised(request, token):
            return web.Response(
                status=401,
                text="a bearer token is needed\n",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if snapshots.body is None:
            return web.Response(status=503, text="the store cannot be read\n")
        return web.Response(body=snapshots.body, headers={"Content-Type": CONTENT_TYPE})

    app.cleanup_ctx.append(open_client)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


@contextlib.asynccontextmanager
async def ops_listener(
    runtime: Runtime, channels: Sequence[object], clock: Callable[[], float]
) -> AsyncIterator[None]:
    """Listen while the block runs (nothing at all when [ops] is off)."""
    settings = runtime.config.ops
    if settings is None:
        yield
        return
    observer = runtime.observer
    assert isinstance(observer, PrometheusObserver)  # open_runtime made it, [ops] being on

    async def waiting() -> Waiting:
        return await runtime.store.waiting(runtime.relay.senders)

    def readiness(http: aiohttp.ClientSession) -> Readiness:
        return Readiness(runtime, channels, clock, http)

    async with listening(settings, ops_app(settings, observer, waiting, readiness)):
        yield


@contextlib.asynccontextmanager
async def listening(settings: OpsSettings, app: web.Application) -> AsyncIterator[None]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.listen, settings.port).start()
        except OSError as exc:
            raise ConfigError(
                f"ops.port: cannot listen on {settings.listen}:{settings.port}"
                f" ({exc.strerror or type(exc).__name__})"
            ) from exc
        log.info("ops listener on %s:%d", settings.listen, settings.port)
        yield
    finally:
        await runner.cleanup()
