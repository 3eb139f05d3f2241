"""A visit in one browser: the session cookie read once per request, let go after a
while without requests, ended for good by "Leave quickly".

The cookie is sealed and the server keeps no table of sessions. A visit that was left
is ended through the person's screen: it records when they left, and a cookie given out
before that opens nothing (on any device, and after a restart too).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from aiohttp import web

from bot.adapters.web.guard import served_over_https
from bot.adapters.web.screens import Screens
from bot.adapters.web.session import COOKIE, Session, SessionKeys, new_sid
from bot.config import WebSettings
from bot.keys.crypto import UserKey

log = logging.getLogger(__name__)

_SESSION = "vertrouwd.session"
_WRITE = "vertrouwd.session-write"
_DELETE = "delete"


class Visits:
    def __init__(
        self,
        settings: WebSettings,
        keys: SessionKeys,
        screens: Screens,
        user: Callable[[str], UserKey],
        clock: Callable[[], float],
        root: str = "/",
    ) -> None:
        self._settings = settings
        # The cookie is for the pages under ``root`` only (one organisation's, on a
        # bureau's address); files are anyone's.
        self._root = root
        self._static = root + "static/"
        # Requests that are not the person's doing: they keep nothing alive.
        self._not_activity = (root + "events", self._static)
        self._keys = keys
        self._screens = screens
        self._user = user
        self._clock = clock

    async def open(self, request: web.Request) -> Session:
        """The request's session, once: a new visitor gets one (a cookie of their own,
        for the forms' CSRF token); a code not used for too long, or given out before
        the person left, is let go."""
        if request.path.startswith(self._static):
            request[_SESSION] = Session()  # a file like any other, for everyone
            return Session()
        session = self._keys.open(request.cookies.get(COOKIE))
        if session is None:
            session = Session(sid=new_sid())
            request[_WRITE] = True
        elif session.code:
            if self._clock() - session.seen > self._settings.idle_seconds:
                log.info("web: a session ended after a while without requests")
                session = Session(lang=session.lang, sid=session.sid, idle=True)
                request[_WRITE] = True
            elif await self._left_since(session):
                session = Session(lang=session.lang, sid=new_sid())
                request[_WRITE] = True
        request[_SESSION] = session
        return session

    async def _left_since(self, session: Session) -> bool:
        assert session.code is not None
        screen = await self._screens.load(self._user(session.code))
        return screen is not None and screen.left_at >= session.issued

    @staticmethod
    def session(request: web.Request) -> Session:
        session = request.get(_SESSION)
        return session if isinstance(session, Session) else Session()

    def give(self, request: web.Request, session: Session) -> None:
        """This response gives the browser ``session``."""
        request[_SESSION] = session
        request[_WRITE] = True

    def end(self, request: web.Request) -> None:
        """The browser keeps nothing of this visit."""
        request[_SESSION] = Session()
        request[_WRITE] = _DELETE

    def write(self, request: web.Request, response: web.StreamResponse) -> None:
        """Set the cookie on the way out: when it changed, and with every request of a
        person with a code (it carries when they were last seen)."""
        if response.prepared or request.path.startswith(self._static):
            return  # a stream (its headers are gone already), or a file
        write = request.get(_WRITE)
        secure = served_over_https(request, self._settings)
        if write == _DELETE:
            response.del_cookie(
                COOKIE, path=self._root, secure=secure, httponly=True, samesite="Strict"
            )
            return
        session = self.session(request)
        # A live update the page fetched by itself (?live=1) is not the person: it must
        # not keep an unattended page's visit alive.
        live = request.query.get("live") == "1"
        active = session.code and not live and not request.path.startswith(self._not_activity)
        if not (write or active):
            return
        if session.code:
            session = dataclasses.replace(session, seen=self._clock())
        response.set_cookie(
            COOKIE,
            self._keys.seal(session),
            httponly=True,
            secure=secure,
            samesite="Strict",
            path=self._root,
        )
