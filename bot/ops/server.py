"""The ops listener: /healthz, /readyz and /metrics, on an address of their own."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
from aiohttp import web

from bot.config import ConfigError
from bot.ops.metrics import CONTENT_TYPE, PrometheusObserver
from bot.ops.readiness import OK, Readiness
from bot.runtime import Runtime

log = logging.getLogger(__name__)
_READINESS = web.AppKey("readiness", Readiness)


def ops_app(
    runtime: Runtime, channels: Sequence[object], clock: Callable[[], float]
) -> web.Application:
    observer = runtime.observer
    assert isinstance(observer, PrometheusObserver)  # open_runtime made it, [ops] being on
    app = web.Application()

    async def open_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as http:
            app[_READINESS] = Readiness(runtime, channels, clock, http)
            yield

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="alive\n")

    async def readyz(request: web.Request) -> web.Response:
        checks = await request.app[_READINESS].checks()
        ready = all(answer == OK for answer in checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        try:
            waiting = await runtime.store.waiting(runtime.relay.senders)
        except Exception as exc:  # noqa: BLE001 - the scraper gets an answer, not a traceback
            log.error("metrics: the store cannot be read (%s)", type(exc).__name__)
            return web.Response(status=503, text="the store cannot be read\n")
        body = observer.render(waiting)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

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
    runner = web.AppRunner(ops_app(runtime, channels, clock), access_log=None)
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
