"""The web chat's listener: a cap on open connections, and aiohttp's own answers (to
requests it cannot read) with the same headers as ours.

Without a cap, one visitor opening a thousand connections uses up the process's open
files, and with them every channel and the ops listener. Connections over the cap are
closed at once. Slow headers are closed by aiohttp's keep-alive timeout (it runs until
a request's headers are complete); slow bodies by the form's own timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from bot.adapters.web.guard import add_security_headers

log = logging.getLogger(__name__)

_NOTE_EVERY_SECONDS = 60.0


class Crowd:
    """Counts what is open and refused; tells the log at most once a minute."""

    def __init__(self, connections: int, https: bool) -> None:
        self.cap = connections
        self.https = https
        self.open = 0
        self.streams = 0  # live pages (event streams) open
        self._refused = 0
        self._noted = 0.0

    def refused(self, what: str) -> None:
        self._refused += 1
        now = time.monotonic()
        if now - self._noted >= _NOTE_EVERY_SECONDS:
            log.warning("web: too many %s at once; %d refused", what, self._refused)
            self._noted, self._refused = now, 0


class _Handler(RequestHandler):
    __slots__ = ("_counted", "_crowd")

    def __init__(self, manager: web.Server, crowd: Crowd, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._crowd = crowd
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._crowd.open >= self._crowd.cap:
            self._crowd.refused("connections (web.max_connections)")
            transport.close()
            return
        self._counted = True
        self._crowd.open += 1
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._counted:
            return
        self._counted = False
        self._crowd.open -= 1
        super().connection_lost(exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not read: its status only, never what was sent,
        and the headers every answer of ours has."""
        super().handle_error(request, status, exc, message)  # logs it (without details)
        response = web.Response(
            status=status, text=f"{status} {HTTPStatus(status).phrase}\n", content_type="text/plain"
        )
        add_security_headers(response, self._crowd.https)
        response.headers["Server"] = "vertrouwd"
        response.force_close()
        return response


class CrowdSite(web.TCPSite):
    """aiohttp's TCP site, with our handler for each connection."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, crowd: Crowd) -> None:
        super().__init__(runner, host, port)
        self._where = (host, port)
        self._crowd = crowd

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        # As aiohttp's own Server.__call__ makes its handlers, with the same settings.
        settings: dict[str, Any] = dict(server._kwargs)

        def handler() -> _Handler:
            return _Handler(server, self._crowd, loop=loop, **settings)

        self._server = await loop.create_server(
            handler, self._where[0], self._where[1], reuse_address=True
        )
