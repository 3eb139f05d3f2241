"""The web chat: an anonymous channel in the browser, on aiohttp's server.

Pages work without JavaScript (forms, posted and redirected); a small script of our own
makes them a live chat. The person's id is their receipt code; the engine, the flow,
the texts, the store and the line are the ones every channel uses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.adapters.web.app import CHANNEL, WebChat
from bot.adapters.web.calm import calm_pages
from bot.adapters.web.connections import Crowd, CrowdSite
from bot.adapters.web.guard import add_security_headers, served_over_https
from bot.adapters.web.pages import STATIC, logo_type, theme_css
from bot.adapters.web.probe import web_chat_answers
from bot.adapters.web.receipt import ReceiptButtons
from bot.adapters.web.screens import Screens, WebSender
from bot.adapters.web.session import SessionKeys
from bot.config import Config, WebSettings
from bot.engine import Engine
from bot.keys.crypto import KeyMaterial, UserKeyer
from bot.line.relay import RelayWorker
from bot.store import SqliteStore
from bot.texts.catalog import Catalog
from bot.util.failures import describe_failure
from bot.util.open_files import RESERVED, open_file_limit

__all__ = ["CHANNEL", "WebChannel"]

log = logging.getLogger(__name__)

# Form bodies: the longest message and its fields fit many times over.
MAX_BODY_BYTES = 64 * 1024
_KEEPALIVE_SECONDS = 20.0
# While a page is open, the relay worker looks for the adviser's messages this often
# (`vertrouwd write` adds them from another process).
_RELAY_NUDGE_SECONDS = 2.0
_STATIC_TYPES = {"style.css": "text/css", "chat.js": "text/javascript"}
_LINGER_SECONDS = 2.0
# Live pages (event streams) of one person at once: a few tabs or devices.
STREAMS_PER_PERSON = 4


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
        self._clock = clock
        self._store = store
        self._relay = relay
        self.screens = Screens(store, clock)
        self.chat = WebChat(
            config,
            settings,
            engine,
            store,
            catalog,
            UserKeyer(keys),
            SessionKeys(keys),
            self.screens,
            clock,
        )
        # Screens go soon after the conversation or case link they belong to.
        self._purge_seconds = min(
            config.retention.purge_interval_minutes * 60,
            60.0,
            settings.unanswered_start_minutes * 60 / 2,
        )
        self._static = {name: (STATIC / name).read_bytes() for name in _STATIC_TYPES}
        self._theme = theme_css(settings).encode()
        self._logo = settings.logo_file.read_bytes() if settings.logo_file else None
        self._closing = False
        self.port: int | None = None  # the port listened on, once serving
        self._crowd = Crowd(settings.max_connections, settings.https)
        self._streams = 0
        if relay is not None:
            relay.serve(CHANNEL, WebSender(self.screens))

    def app(self) -> web.Application:
        chat = self.chat
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[calm_pages(chat)])
        app.router.add_get("/", chat.start_page)
        app.router.add_post("/start", chat.start)
        app.router.add_post("/return", chat.come_back)
        app.router.add_get("/chat", chat.chat_page)
        app.router.add_post("/chat", chat.chat_post)
        app.router.add_post("/receipt", ReceiptButtons(chat, self.screens).post)
        app.router.add_post("/language", chat.language)
        app.router.add_get("/help", chat.help_page)
        app.router.add_get("/leave", chat.leave)
        app.router.add_get("/events", self.events)
        app.router.add_get("/static/{name}", self.static)
        app.on_response_prepare.append(self._headers)
        return app

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        add_security_headers(response, served_over_https(request, self._settings))
        response.headers["Server"] = "vertrouwd"  # not which libraries, nor their versions

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "theme.css":
            return web.Response(body=self._theme, content_type="text/css")
        if name == "logo" and self._logo is not None:
            return web.Response(body=self._logo, content_type=logo_type(self._settings))
        if name in self._static:
            return web.Response(body=self._static[name], content_type=_STATIC_TYPES[name])
        raise web.HTTPNotFound()

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the screen's version each time it changes. A few per
        person and a total cap; each lasts as long as an idle session would."""
        session = self.chat.session(request)
        user = self.chat.user(session.code) if session.code else None
        if user is None or not await self._store.web_person_known(user):
            raise web.HTTPForbidden()
        if self._streams >= self._settings.max_event_streams:
            return self._no_stream(503, "live pages (web.max_event_streams)")
        if self.screens.pages_of(user) >= STREAMS_PER_PERSON:
            return self._no_stream(429, "live pages of one person")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        self._streams += 1
        try:
            # Listening (and so counted) before the first await: a burst of requests
            # cannot all pass the checks above.
            async with self.screens.listening(user) as queue:
                await response.prepare(request)
                await response.write(b"retry: 3000\n\n")
                async with asyncio.timeout(self._settings.idle_seconds):
                    await self._stream(queue, response)
        except TimeoutError:
            pass  # the page opens a new stream, if its session still holds
        except ConnectionError:
            log.debug("web: a live page went away")  # a closed tab: nothing went wrong
        finally:
            self._streams -= 1
        return response

    def _no_stream(self, status: int, what: str) -> web.StreamResponse:
        self._crowd.refused(what)
        response = web.Response(status=status)
        response.force_close()  # the connection goes too
        return response

    async def _stream(self, queue: asyncio.Queue[int], response: web.StreamResponse) -> None:
        while not self._closing:
            try:
                async with asyncio.timeout(_KEEPALIVE_SECONDS):
                    version = await queue.get()
            except TimeoutError:
                await response.write(b": still here\n\n")
                continue
            if version == _CLOSING:
                break
            await response.write(f"data: {version}\n\n".encode())

    async def run(self, stopping: asyncio.Event) -> None:
        # No access log: it would hold every visitor's address. The keep-alive timeout
        # also runs while a request's headers come in: slow headers are closed by it.
        runner = web.AppRunner(
            self.app(),
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self._settings.request_seconds,
            # After an answer sent before the body was read (a slow or too large form),
            # the rest of the body is read and dropped this long, then the line closes.
            lingering_time=_LINGER_SECONDS,
        )
        await runner.setup()
        limit = open_file_limit()
        if limit is not None and self._crowd.cap > limit - RESERVED:
            self._crowd.cap = max(10, limit - RESERVED)
            log.warning(
                "web: at most %d connections at once (the open-file limit is %d)",
                self._crowd.cap,
                limit,
            )
        site = CrowdSite(runner, self._settings.listen, self._settings.port, self._crowd)
        try:
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1] if sockets else self._settings.port
            log.info("web chat listening on http://%s:%s/", self._settings.listen, self.port)
            tasks = [
                asyncio.create_task(self._every(self._purge_seconds, self._purge)),
                asyncio.create_task(self._every(_RELAY_NUDGE_SECONDS, self._nudge_relays)),
            ]
            await stopping.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._closing = True
            self.screens.close_all(_CLOSING)
            await runner.cleanup()

    async def readiness(self) -> str | None:
        """None while the page is served; else what is wrong (for /readyz)."""
        if self.port is None or self._closing:
            return "not listening (yet)"
        if not await web_chat_answers(self._settings.listen, self.port):
            return f"does not answer on {self._settings.listen}:{self.port}"
        return None

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.error("web: background work failed: %s", describe_failure(exc))

    async def _purge(self) -> None:
        before = self._clock() - self._settings.unanswered_start_minutes * 60
        unanswered = await self._store.purge_unanswered_web_starts(before)
        if unanswered:
            log.info("web: %d conversation(s) started and never answered dropped", unanswered)
        dropped = await self._store.purge_orphan_web_screens()
        if dropped:
            self.screens.forget()
            log.info("web: %d screen(s) of people no longer known dropped", dropped)

    async def _nudge_relays(self) -> None:
        if self._relay is not None and self.screens.open_pages:
            self._relay.wake()


_CLOSING = -2
