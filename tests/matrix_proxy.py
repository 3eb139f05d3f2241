"""A lying homeserver: a small HTTP proxy in front of the throwaway Synapse.

Everything passes through unchanged, except the answers a test chooses to rewrite
(for one path, a function of the parsed JSON answer). It also records which paths
the bot asked for, so a test can tell that something was never even tried.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


class LyingHomeserver:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrites: dict[str, Rewrite] = {}
        self.requested: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> LyingHomeserver:
        app = web.Application(client_max_size=1 << 24)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        self.requested.append((request.method, request.path))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        body = await request.read()
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=body,
            headers=headers,
            allow_redirects=False,
        ) as answer:
            payload = await answer.read()
            status = answer.status
            content_type = answer.headers.get("Content-Type", "application/json")
        rewrite = self.rewrites.get(request.path)
        if rewrite is not None and status == 200:
            payload = json.dumps(rewrite(json.loads(payload))).encode()
        return web.Response(body=payload, status=status, headers={"Content-Type": content_type})

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
