"""The web chat: an anonymous channel in the browser, on aiohttp's server.

Pages work without JavaScript (forms, posted and redirected); a small script of our own
makes them a live chat. The person's id is their receipt code; the engine, the flow,
the texts, the store and the line are the ones every channel uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot.adapters.web.app import CHANNEL
from bot.adapters.web.connections import Crowd, CrowdSite
from bot.adapters.web.probe import web_chat_answers
from bot.adapters.web.site import OrganisationWeb
from bot.config import Config, WebSettings
from bot.engine import Engine
from bot.keys.crypto import KeyMaterial
from bot.line.relay import RelayWorker
from bot.store import SqliteStore
from bot.texts.catalog import Catalog
from bot.util.open_files import RESERVED, open_file_limit

__all__ = ["CHANNEL", "WebChannel", "listening"]

log = logging.getLogger(__name__)

_LINGER_SECONDS = 2.0


class _NoAddresses(logging.Filter):
    """aiohttp logs "Error handling request from <address>" (with a traceback that can
    quote the request) for requests that are not valid HTTP: only what went wrong stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg).split(" from ", 1)[0]
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message}: {type(record.exc_info[1]).__name__}"
        record.msg = message + " (details withheld)"
        record.args = None
        record.exc_info = record.exc_text = None
        return True


_NO_ADDRESSES = _NoAddresses()
for _name in ("aiohttp.server", "aiohttp.web", "aiohttp.access"):
    logging.getLogger(_name).addFilter(_NO_ADDRESSES)


class WebChannel:
    """One organisation's web chat on a port of its own."""

    ops_name = CHANNEL  # its name in /readyz

    def __init__(
        self,
        config: Config,
        settings: WebSettings,
        engine: Engine,
        store: SqliteStore,
        catalog: Callable[[], Catalog],
        keys: KeyMaterial,
        clock: Callable[[], float],
        relay: RelayWorker | None = None,
    ) -> None:
        self._settings = settings
        self._crowd = Crowd(settings.max_connections, settings.https)
        self.site = OrganisationWeb(
            config, settings, engine, store, catalog, keys, clock, self._crowd, relay
        )
        self.chat = self.site.chat
        self.screens = self.site.screens
        self.port: int | None = None  # the port listened on, once serving

    def app(self) -> web.Application:
        return self.site.app()

    async def run(self, stopping: asyncio.Event) -> None:
        async with listening(self.app(), self._settings, self._crowd) as port:
            self.port = port
            await self.site.run(stopping)

    async def readiness(self) -> str | None:
        """None while the page is served; else what is wrong (for /readyz)."""
        if self.port is None or self.site.closing:
            return "not listening (yet)"
        if not await web_chat_answers(self._settings.listen, self.port):
            return f"does not answer on {self._settings.listen}:{self.port}"
        return None


@contextlib.asynccontextmanager
async def listening(
    app: web.Application, settings: WebSettings, crowd: Crowd
) -> AsyncIterator[int]:
    """``app`` served where ``settings`` say (the port it listens on), until the block
    ends."""
    # No access log: it would hold every visitor's address. The keep-alive timeout
    # also runs while a request's headers come in: slow headers are closed by it.
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=settings.request_seconds,
        # After an answer sent before the body was read (a slow or too large form),
        # the rest of the body is read and dropped this long, then the line closes.
        lingering_time=_LINGER_SECONDS,
    )
    await runner.setup()
    try:
        limit = open_file_limit()
        if limit is not None and crowd.cap > limit - RESERVED:
            crowd.cap = max(10, limit - RESERVED)
            log.warning(
                "web: at most %d connections at once (the open-file limit is %d)",
                crowd.cap,
                limit,
            )
        site = CrowdSite(runner, settings.listen, settings.port, crowd)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else settings.port
        log.info("web chat listening on http://%s:%s/", settings.listen, port)
        yield port
    finally:
        await runner.cleanup()
