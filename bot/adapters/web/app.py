"""The web chat's routes: every step a plain form, posted, then redirected to a page.

Nothing personal is ever in a URL: the receipt code travels in a form body once (to
come back) and otherwise only sealed in the session cookie.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from bot.adapters.web.guard import client_address, foreign_post, network_of
from bot.adapters.web.pages import Pages, accepted_language
from bot.adapters.web.screens import Screens, address_of, asked
from bot.adapters.web.session import Session, SessionKeys, new_receipt_code, normalise_code
from bot.adapters.web.visits import Visits
from bot.config import Config, WebSettings
from bot.engine import Engine
from bot.keys.crypto import UserKey, UserKeyer
from bot.messages import Inbound, InboundKind, Reply
from bot.store import SqliteStore
from bot.store.web_screens import WebScreen
from bot.texts.catalog import Catalog, Texts
from bot.util.ratelimit import CodeClient, CodeThrottle, FloodLimiter

CHANNEL = "web"
log = logging.getLogger(__name__)

_PAGES = {"start": "/", "chat": "/chat", "help": "/help"}
_ENDED_KEPT = 200
_MESSAGE_ID = re.compile(r"[0-9a-f]{16}")
_STARTS_AT_ONCE = 30
_STARTS_PER_MINUTE = 10
_EVERYONE = UserKey(b"")  # the key of the limit over all visitors together


class WebChat:
    def __init__(
        self,
        config: Config,
        settings: WebSettings,
        engine: Engine,
        store: SqliteStore,
        catalog: Callable[[], Catalog],
        keyer: UserKeyer,
        keys: SessionKeys,
        screens: Screens,
        clock: Callable[[], float],
        root: str = "/",
        origins: tuple[str, ...] = (),
    ) -> None:
        """``root``: where the pages are ("/", or an organisation's "/<web_path>/" on a
        bureau's address); ``origins``: more host names our forms may come from."""
        self._config = config
        self.root = root
        self._origins = origins
        self._settings = settings
        self._engine = engine
        self._store = store
        self._catalog = catalog
        self._keyer = keyer
        self._keys = keys
        self._screens = screens
        self._clock = clock
        self._pages = Pages(config, settings, root)
        self.throttle = CodeThrottle()
        self.visits = Visits(settings, keys, screens, self.user, clock, root)
        # New conversations per visitor (by the same hash): a burst, then some a minute;
        # each is a row in the store. Generous: behind a proxy that is not trusted, every
        # visitor has the proxy's address.
        self._starts = FloodLimiter(_STARTS_AT_ONCE, _STARTS_PER_MINUTE)
        # And over all visitors together: many addresses cannot fill the disk.
        per_minute = settings.starts_per_minute
        self._all_starts = FloodLimiter(2 * per_minute, per_minute, kept=1)
        self._origin_noted = False
        # The language switch's names, for the catalog they were read from.
        self._languages: tuple[Catalog | None, list[tuple[str, str]]] = (None, [])
        # What an erasure said, shown once on the start page (the person is gone).
        self._ended: dict[str, list[str]] = {}

    # -- helpers ----------------------------------------------------------------------

    def session(self, request: web.Request) -> Session:
        return self.visits.session(request)

    def texts_for(self, request: web.Request, session: Session, known: str | None = None) -> Texts:
        catalog = self._catalog()
        candidates = (
            known,
            session.lang,
            accepted_language(request.headers.get("Accept-Language", ""), catalog),
        )
        lang = next((c for c in candidates if c and catalog.supports(c)), None)
        return catalog.texts(lang or catalog.default_language)

    def user(self, code: str) -> UserKey:
        return self._keyer(CHANNEL, code)

    def page(
        self,
        request: web.Request,
        template: str,
        t: Texts,
        status: int = 200,
        **values: Any,
    ) -> web.Response:
        catalog = self._catalog()
        if self._languages[0] is not catalog:  # the texts were reloaded
            names = [
                (lang, catalog.texts(lang)("meta.language_name")) for lang in catalog.languages()
            ]
            self._languages = (catalog, names)
        languages = self._languages[1]
        page = template.removesuffix(".html")
        html = self._pages.render(
            template,
            t,
            languages,
            page=page,
            csrf=self._keys.csrf_token(self.session(request).sid),
            version=values.pop("version", 0),
            idle_seconds=int(self._settings.idle_seconds),
            **values,
        )
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def set_session(self, request: web.Request, session: Session) -> None:
        self.visits.give(request, session)

    def signed_in(self, request: web.Request, code: str) -> None:
        """This browser now holds ``code`` (a start or a return)."""
        session = self.session(request)
        now = self._clock()
        self.set_session(request, Session(code, session.lang, None, session.sid, now, now))

    def redirect(self, to: str) -> web.Response:
        """To one of our pages (``to`` as under "/"), under the pages' root."""
        return web.Response(status=303, headers={"Location": self.root + to.removeprefix("/")})

    async def form(self, request: web.Request) -> dict[str, str]:
        """The posted fields, after the checks that it came from our own page in this
        browser; a stale or forged form gets an error, a form too slow to arrive too."""
        refused = foreign_post(request, self._settings, self._origins)
        if refused is not None:
            log.info("web: a form from another site was refused (%s)", refused)
            if request.headers.get("Sec-Fetch-Site") == "same-origin":
                self._note_misread_origin()
            raise web.HTTPForbidden(reason=refused)
        try:
            async with asyncio.timeout(self._settings.request_seconds):
                data = await request.post()
        except TimeoutError:
            log.info("web: a form too slow to arrive was refused")
            raise web.HTTPRequestTimeout() from None
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        if not self._keys.csrf_valid(fields.get("csrf", ""), self.session(request).sid):
            raise web.HTTPForbidden(reason="stale-form")
        return fields

    def _note_misread_origin(self) -> None:
        """The browser says the form is ours, yet its Origin is not the address we know:
        a proxy that passes on another Host, and no web.public_url. Said once."""
        if not self._origin_noted:
            self._origin_noted = True
            log.warning(
                "web: forms from our own pages are refused: the address in the browser is"
                " neither the Host the proxy passes on nor web.public_url (set public_url)"
            )

    async def step(
        self, code: str, t: Texts, typed: str | None = None, **fields: Any
    ) -> tuple[WebScreen | None, list[Reply]]:
        """One inbound message (``fields``) through the engine; its replies land on the
        person's screen (None: nothing of the person is left)."""
        user = self.user(code)
        inbound = Inbound(CHANNEL, code, language_hint=t.lang, reply_to=address_of(user), **fields)
        replies: list[Reply] = []

        async def deliver(batch: Sequence[Reply]) -> None:
            replies.extend(batch)

        async with self._screens.locks.hold(user):
            await self._engine.handle(inbound, deliver)
            return await self._screens.after_step(user, typed, replies, inbound.choice), replies

    # -- pages ------------------------------------------------------------------------

    async def start_page(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        if session.code and await self._store.web_person_known(self.user(session.code)):
            return self.redirect("/chat")
        t = self.texts_for(request, session)
        # Shown on this page until the person starts again (a script's fetch and its
        # reload both see it); it lives in memory only, for a short while.
        notice = "\n\n".join(self._ended.get(session.ended, [])) if session.ended else None
        if session.idle:
            notice = t("web.idle_ended", minutes=f"{self._settings.idle_minutes:g}")
        if session.code or session.idle or (session.ended and notice is None):
            self.set_session(request, Session(lang=session.lang, sid=session.sid))
        return self.page(request, "start.html", t, notice=notice, code_problem=None)

    def _client(self, request: web.Request) -> CodeClient:
        network = network_of(client_address(request, self._settings))
        return self.throttle.client(network, self.session(request).sid)

    async def start(self, request: web.Request) -> web.StreamResponse:
        await self.form(request)
        session = self.session(request)
        t = self.texts_for(request, session)
        now = self._clock()
        allowed, _ = self._starts.check(UserKey(self._client(request).address), now)
        if not allowed:
            log.info("web: a visitor started too many conversations; asked to wait")
            notice = t("web.start_wait")
            return self.page(request, "start.html", t, 429, notice=notice, code_problem=None)
        everyone, first = self._all_starts.check(_EVERYONE, now)
        if not everyone:
            if first:
                log.warning("web: new conversations come faster than web.starts_per_minute")
            notice = t("web.start_busy")
            return self.page(request, "start.html", t, 503, notice=notice, code_problem=None)
        code = new_receipt_code()
        await self.step(code, t, kind=InboundKind.RESUME)
        self.signed_in(request, code)
        return self.redirect("/chat")

    async def come_back(self, request: web.Request) -> web.StreamResponse:
        fields = await self.form(request)
        session = self.session(request)
        t = self.texts_for(request, session)
        client = self._client(request)
        now = self._clock()
        wait = self.throttle.wait(client, now)
        if wait > 0:
            problem = t("web.code_wait", seconds=int(wait) + 1)
            return self.page(request, "start.html", t, 429, notice=None, code_problem=problem)
        code = normalise_code(fields.get("code", ""))
        user = self.user(code) if code else None
        if code is None or user is None or not await self._store.web_person_known(user):
            self.throttle.failed(client, now)
            log.info("web: a receipt code did not open a conversation")
            problem = t("web.code_wrong")
            return self.page(request, "start.html", t, 200, notice=None, code_problem=problem)
        async with self._screens.locks.hold(user):
            screen = await self._screens.load(user)
            if screen is None:
                person = await self._store.web_person(user)
                screen = WebScreen(had_case=person.has_open_case, sent_relay=person.sent_relay)
            # They typed the code: they have it, so it need not be shown to them again.
            screen.code_pending, screen.code_noted = False, True
            await self._screens.save(user, screen)
        await self.step(code, t, kind=InboundKind.RESUME)
        log.info("web: a person came back with their receipt code")
        self.signed_in(request, code)
        return self.redirect("/chat")

    async def chat_page(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        if not session.code:
            return self.redirect("/")
        user = self.user(session.code)
        async with self._screens.locks.hold(user):
            screen = await self._screens.load(user)
        if screen is None:
            # The first page after a restart lost it, or the person's data is gone.
            if not await self._store.web_person_known(user):
                return self.redirect("/")
            t = self.texts_for(request, session)
            screen, _ = await self.step(session.code, t, kind=InboundKind.RESUME)
            if screen is None:
                return self.redirect("/")
        t = self.texts_for(request, session, screen.lang)
        # The code stays on the page until the person says they have written it down.
        code = session.code if screen.code_pending else None
        later = screen.in_intake and not (screen.had_case or screen.code_noted or code)
        return self.page(
            request,
            "chat.html",
            t,
            code=code,
            code_for=screen.code_for,
            later=later,
            # After the person's own step, the page opens on the question (or the code).
            focus=bool(code) or any(e["who"] == "you" for e in screen.current),
            line=screen.line,
            current=screen.current,
            question=asked(screen),
            message_id=secrets.token_hex(8),
            max_chars=self._config.limits.message_max_chars,
            version=screen.version,
        )

    async def chat_post(self, request: web.Request) -> web.StreamResponse:
        fields = await self.form(request)
        session = self.session(request)
        if not session.code:
            return self.redirect("/")
        t = self.texts_for(request, session)
        # The form's own id (each page draws one): a form sent twice is handled once.
        form_id = fields.get("m", "")
        message_id = form_id if _MESSAGE_ID.fullmatch(form_id) else None
        choice = fields.get("choice")
        if choice:
            screen, replies = await self.step(
                session.code,
                t,
                choice=choice,
                question=fields.get("question"),
                message_id=message_id,
            )
        else:
            typed = fields.get("text", "")
            screen, replies = await self.step(
                session.code, t, typed.strip(), text=typed, message_id=message_id
            )
        if screen is None:
            return self.ended(request, t, [r.text for r in replies])
        return self.redirect("/chat")

    def ended(self, request: web.Request, t: Texts, said: list[str]) -> web.StreamResponse:
        """Everything of the person was erased: the session ends; what the bot said about
        it shows once, on the start page."""
        token = secrets.token_hex(8)
        self._ended[token] = [*said, t("web.ended")]
        while len(self._ended) > _ENDED_KEPT:
            self._ended.pop(next(iter(self._ended)))
        self.set_session(request, Session(lang=t.lang, ended=token, sid=self.session(request).sid))
        log.info("web: a person's data was erased; their session ended")
        return self.redirect("/")

    async def leave(self, request: web.Request) -> web.StreamResponse:
        """ "Leave quickly": the visit ends here, on the server, before the browser goes
        to the neutral site. Back, or the bare address, then shows the start page."""
        session = self.session(request)
        if session.code:
            await self._screens.end_visits(self.user(session.code), self._clock())
        self.visits.end(request)
        # The cache holds nothing (no-store), but a browser may keep the pages for Back.
        headers = {"Location": self._settings.exit_url, "Clear-Site-Data": '"cache"'}
        return web.Response(status=303, headers=headers)

    async def language(self, request: web.Request) -> web.StreamResponse:
        fields = await self.form(request)
        session = self.session(request)
        lang = fields.get("lang", "")
        back = _PAGES.get(fields.get("back", ""), "/")
        if not self._catalog().supports(lang):
            return self.redirect(back)
        if session.code:
            user = self.user(session.code)
            record = await self._store.load_conversation(user)
            if record is not None and record.lang != lang:
                await self._switch_conversation_language(session.code, lang)
        self.set_session(request, dataclasses.replace(session, lang=lang, ended=None))
        return self.redirect(back)

    async def _switch_conversation_language(self, code: str, lang: str) -> None:
        """The flow's own language question, answered with the language picked."""
        t = self._catalog().texts(lang)
        screen, _ = await self.step(code, t, text="/language")
        question = asked(screen) if screen else None
        if question is not None and any(c[0] == lang for c in question["choices"]):
            await self.step(code, t, choice=lang, question=question["question"])

    async def help_page(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        record = (
            await self._store.load_conversation(self.user(session.code)) if session.code else None
        )
        t = self.texts_for(request, session, record.lang if record else None)
        back = "chat" if session.code else ""
        return self.page(request, "help.html", t, back=back)

    def error_page(self, request: web.Request, status: int, reason: str) -> web.Response:
        session = self.session(request)
        t = self.texts_for(request, session)
        key = {
            403: "web.error_stale",
            404: "web.error_not_found",
            405: "web.error_method",
            408: "web.error_slow",
            413: "web.error_too_large",
        }.get(status, "web.error_general")
        response = self.page(request, "error.html", t, status, message=t(key))
        if status == 408:
            response.force_close()  # the rest of the body is not waited for
        return response
