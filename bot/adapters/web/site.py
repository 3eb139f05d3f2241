"""One organisation's web chat without a listener of its own: its pages, its live
updates, its files, and the background work that keeps its screens tidy.

A single organisation's `WebChannel` serves one of these on its own port; a bureau's
listener (bureau.py) serves many, each under its host name or its path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.adapters.web.app import CHANNEL, WebChat
from bot.adapters.web.calm import calm_pages
from bot.adapters.web.connections import Crowd
from bot.adapters.web.guard import add_security_headers, served_over_https
from bot.adapters.web.pages import STATIC, logo_type, theme_css
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

log = logging.getLogger(__name__)

# Form bodies: the longest message and its fields fit many times over.
MAX_BODY_BYTES = 64 * 1024
_KEEPALIVE_SECONDS = 20.0
# While a page is open, the relay worker looks for the adviser's messages this often
# (`vertrouwd write` adds them from another process).
_RELAY_NUDGE_SECONDS = 2.0
_STATIC_TYPES = {"style.css": "text/css", "chat.js": "text/javascript"}
# Live pages (event streams) of one person at once: a few tabs or devices.
STREAMS_PER_PERSON = 4
CLOSING = -2


class OrganisationWeb:
    """One organisation's pages under ``root``. ``crowd`` is the listener's: its
    connection and live-page limits are for everyone it serves together."""

    def __init__(
        self,
        config: Config,
        settings: WebSettings,
        engine: Engine,
        store: SqliteStore,
        catalog: Callable[[], Catalog],
        keys: KeyMaterial,
        clock: Callable[[], float],
        crowd: Crowd,
        relay: RelayWorker | None = None,
        *,
        root: str = "/",
        origins: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.root = root
        self._clock = clock
        self._store = store
        self._relay = relay
        self._crowd = crowd
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
            root,
            origins,
        )
        self.calm = calm_pages(self.chat)
        # Screens go soon after the conversation or case link they belong to.
        self._purge_seconds = min(
            config.retention.purge_interval_minutes * 60,
            60.0,
            settings.unanswered_start_minutes * 60 / 2,
        )
        self._static = {name: (STATIC / name).read_bytes() for name in _STATIC_TYPES}
        self._theme = theme_css(settings).encode()
        self._logo = settings.logo_file.read_bytes() if settings.logo_file else None
        self.closing = False
        if relay is not None:
            relay.serve(CHANNEL, WebSender(self.screens))

    def add_routes(self, router: web.UrlDispatcher) -> None:
        chat, root = self.chat, self.root
        router.add_get(root, chat.start_page)
        router.add_post(root + "start", chat.start)
        router.add_post(root + "return", chat.come_back)
        router.add_get(root + "chat", chat.chat_page)
        router.add_post(root + "chat", chat.chat_post)
        router.add_post(root + "receipt", ReceiptButtons(chat, self.screens).post)
        router.add_post(root + "language", chat.language)
        router.add_get(root + "help", chat.help_page)
        router.add_get(root + "leave", chat.leave)
        router.add_get(root + "events", self.events)
        router.add_get(root + "static/{name}", self.static)

    def app(self, client_max_size: int = MAX_BODY_BYTES) -> web.Application:
        """An aiohttp application of these pages alone (one organisation's listener)."""
        app = web.Application(client_max_size=client_max_size, middlewares=[self.calm])
        self.add_routes(app.router)
        app.on_response_prepare.append(self.headers)
        return app

    async def headers(self, request: web.Request, response: web.StreamResponse) -> None:
        add_security_headers(response, served_over_https(request, self.settings))
        response.headers["Server"] = "vertrouwd"  # not which libraries, nor their versions

    async def static(self, request: web.Request) -> web.StreamResponse:
        # As the route has it (a bureau's listener resolves it with its own router).
        name = request.path.removeprefix(self.root + "static/")
        if name == "theme.css":
            return web.Response(body=self._theme, content_type="text/css")
        if name == "logo" and self._logo is not None:
            return web.Response(body=self._logo, content_type=logo_type(self.settings))
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
        crowd = self._crowd
        if crowd.streams >= self.settings.max_event_streams:
            return self._no_stream(503, "live pages (web.max_event_streams)")
        if self.screens.pages_of(user) >= STREAMS_PER_PERSON:
            return self._no_stream(429, "live pages of one person")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        crowd.streams += 1
        try:
            # Listening (and so counted) before the first await: a burst of requests
            # cannot all pass the checks above.
            async with self.screens.listening(user) as queue:
                await response.prepare(request)
                await response.write(b"retry: 3000\n\n")
                async with asyncio.timeout(self.settings.idle_seconds):
                    await self._stream(queue, response)
        except TimeoutError:
            pass  # the page opens a new stream, if its session still holds
        except ConnectionError:
            log.debug("web: a live page went away")  # a closed tab: nothing went wrong
        finally:
            crowd.streams -= 1
        return response

    def _no_stream(self, status: int, what: str) -> web.StreamResponse:
        self._crowd.refused(what)
        response = web.Response(status=status)
        response.force_close()  # the connection goes too
        return response

    async def _stream(self, queue: asyncio.Queue[int], response: web.StreamResponse) -> None:
        while not self.closing:
            try:
                async with asyncio.timeout(_KEEPALIVE_SECONDS):
                    version = await queue.get()
            except TimeoutError:
                await response.write(b": still here\n\n")
                continue
            if version == CLOSING:
                break
            await response.write(f"data: {version}\n\n".encode())

    async def run(self, stopping: asyncio.Event) -> None:
        """The background work, until ``stopping`` is set; then every open live page
        hears that the server is going."""
        tasks = [
            asyncio.create_task(self._every(self._purge_seconds, self._purge)),
            asyncio.create_task(self._every(_RELAY_NUDGE_SECONDS, self._nudge_relays)),
        ]
        try:
            await stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.closing = True
            self.screens.close_all(CLOSING)

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.error("web: background work failed: %s", describe_failure(exc))

    async def _purge(self) -> None:
        before = self._clock() - self.settings.unanswered_start_minutes * 60
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
