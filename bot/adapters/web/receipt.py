"""The receipt code's buttons on the chat page.

Before the request is sent, "continue later" shows the person's code (the same code
the request will have), so that closing the window is no longer the end of it. The
code stays on the page, through every step and the adviser's live answers, until the
person says they have written it down.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.adapters.web.app import WebChat
from bot.adapters.web.screens import Screens

log = logging.getLogger(__name__)


class ReceiptButtons:
    def __init__(self, chat: WebChat, screens: Screens) -> None:
        self._chat = chat
        self._screens = screens

    async def post(self, request: web.Request) -> web.StreamResponse:
        fields = await self._chat.form(request)
        session = self._chat.session(request)
        if not session.code:
            return self._chat.redirect("/")
        user = self._chat.user(session.code)
        async with self._screens.locks.hold(user):
            screen = await self._screens.load(user)
            if screen is None:
                return self._chat.redirect("/chat")
            action = fields.get("receipt")
            if action == "noted" and screen.code_pending:
                screen.code_pending, screen.code_noted = False, True
                await self._screens.save(user, screen)
                log.info("web: a person has their receipt code")
            elif action == "later" and not (screen.code_pending or screen.had_case):
                screen.code_pending, screen.code_for = True, "later"
                await self._screens.save(user, screen)
                log.info("web: a person asked for their code, to continue later")
        return self._chat.redirect("/chat")
