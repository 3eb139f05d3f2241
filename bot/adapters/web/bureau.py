"""A bureau's web chat: one listener for every organisation it serves.

Each organisation is found by the host name its visitors use (``[org] web_host``,
through the bureau's proxy) or, without one, by the unguessable first part of the path
(``[org] web_path``): ``https://chat.bureau.nl/<web_path>/``. Its pages are its own
(its texts, look, cookie, keys and limits); they come and go with the organisation.

Nothing tells a visitor which organisations are clients. An unknown host name, an
unknown path, a suspended organisation and a removed one all get one answer, built once
and naming no one. Finding an organisation costs the same whatever was asked: the host
name and the path's first part are each put through HMAC-SHA256 under a key drawn at
start-up, and the digest looked up in a dict. A guess close to a real name gives a
digest as far from the real one as any other guess, so neither the dict's hashing nor
its comparison of digests can take longer for a near miss; the HMAC's own cost depends
only on the length of what the visitor sent. Both lookups are made for every request
that reaches no organisation by its host, found or not, so an unknown host and an
unknown path take the same steps.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from markupsafe import escape

from bot.adapters.web import listening
from bot.adapters.web.app import CHANNEL
from bot.adapters.web.connections import Crowd
from bot.adapters.web.guard import add_security_headers, from_trusted_proxy, served_over_https
from bot.adapters.web.probe import web_chat_answers
from bot.adapters.web.site import MAX_BODY_BYTES, OrganisationWeb
from bot.runtime import Runtime
from bot.runtime.bureau import Bureau
from bot.texts.catalog import Catalog, catalog_of

log = logging.getLogger(__name__)

_SITE = "vertrouwd.organisation-site"


@dataclass
class _Mounted:
    site: OrganisationWeb
    router: web.UrlDispatcher
    stopping: asyncio.Event
    task: asyncio.Task[None]
    key: bytes  # its key in the lookup
    address: tuple[str, str]  # the web_host and web_path it was mounted with


def bare_host(host: str) -> str:
    """A Host header's name, lowercase, without its port."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 address
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if ":" in host else host


def unknown_page(catalog: Catalog) -> bytes:
    """The one answer for every address that leads to no organisation: in every
    language the texts have, naming no one."""
    first = catalog.texts(catalog.default_language)
    others = [catalog.texts(lang) for lang in catalog.languages() if lang != first.lang]
    texts = [first, *others]
    parts = "".join(f'<p lang="{t.lang}">{escape(t("bureau.web.unknown"))}</p>' for t in texts)
    return (
        f'<!doctype html>\n<html lang="{first.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(first('web.error_title'))}</title></head>"
        f"<body><main><h1>{escape(first('web.error_title'))}</h1>{parts}</main></body></html>\n"
    ).encode()


class BureauWeb:
    """The bureau's web listener ([web] of the bureau's config: listen, port, limits)."""

    ops_name = CHANNEL

    def __init__(self, bureau: Bureau) -> None:
        settings = bureau.config.web
        assert settings is not None
        self._bureau = bureau
        self._settings = settings
        self._crowd = Crowd(settings.max_connections, settings.https)
        self._key = secrets.token_bytes(32)
        self._lookup: dict[bytes, _Mounted] = {}
        self._mounted: dict[str, _Mounted] = {}
        self._unserved: dict[str, tuple[str, str]] = {}  # id: the address refused
        self._bureau_host = urlsplit(settings.public_url).netloc.lower()
        self._unknown = unknown_page(catalog_of(bureau.config))
        self._serving = False
        self.port: int | None = None
        bureau.on_opened.append(self._opened)
        bureau.on_closing.append(self._closing)

    def _keyed(self, kind: bytes, name: str) -> bytes:
        return hmac.digest(self._key, kind + b"\x00" + name.encode(), hashlib.sha256)

    # -- organisations coming and going ----------------------------------------------

    async def _opened(self, organisation_id: str, runtime: Runtime) -> None:
        if self._serving:
            self._mount(organisation_id, runtime)

    def _mount(self, organisation_id: str, runtime: Runtime) -> None:
        entry = self._bureau.entry(organisation_id)
        config = runtime.config
        if entry is None or config.web is None or runtime.keys is None:
            return
        host = bare_host(entry.web_host)
        # Served under one address only: its host name, or else its path.
        root = "/" if host else f"/{entry.web_path}/"
        key = self._keyed(b"host", host) if host else self._keyed(b"path", entry.web_path)
        if key in self._lookup:  # `org add` refuses this; a hand-edited file may not
            self._unserved[organisation_id] = (entry.web_host, entry.web_path)
            log.error(
                "web: organisation %s is not served on the web: another organisation has"
                " the same web_host; give it another",
                organisation_id,
            )
            return
        site = OrganisationWeb(
            config,
            config.web,
            runtime.engine,
            runtime.store,
            lambda: runtime.catalog,
            runtime.keys,
            self._bureau.clock,
            self._crowd,
            runtime.relay,
            root=root,
            origins=(self._bureau_host, entry.web_host),
        )
        router = web.UrlDispatcher()
        site.add_routes(router)
        stopping = asyncio.Event()
        task = asyncio.create_task(site.run(stopping))
        mounted = _Mounted(site, router, stopping, task, key, (entry.web_host, entry.web_path))
        self._mounted[organisation_id] = mounted
        self._lookup[key] = mounted
        self._unserved.pop(organisation_id, None)

    async def _closing(self, organisation_id: str) -> None:
        self._unserved.pop(organisation_id, None)
        mounted = self._mounted.pop(organisation_id, None)
        if mounted is None:
            return
        self._lookup.pop(mounted.key, None)  # from now on: the unknown answer
        mounted.stopping.set()
        await asyncio.gather(mounted.task, return_exceptions=True)

    async def _follow_addresses(self) -> None:
        """An organisation whose file now gives another host name or path is served at
        the new address only (pages open at the old one end there)."""
        while True:
            await asyncio.sleep(self._bureau.config.bot.texts_reload_seconds)
            for organisation_id, runtime in self._bureau.runtimes.items():
                entry = self._bureau.entry(organisation_id)
                if entry is None:
                    continue
                address = (entry.web_host, entry.web_path)
                mounted = self._mounted.get(organisation_id)
                if mounted is None and self._unserved.get(organisation_id, address) == address:
                    continue  # not served on the web, and nothing changed
                if mounted is not None:
                    if mounted.address == address:
                        continue
                    await self._closing(organisation_id)
                if self._bureau.runtimes.get(organisation_id) is runtime:  # still open
                    self._mount(organisation_id, runtime)
                    log.info("web: organisation %s has a new address", organisation_id)

    # -- requests ---------------------------------------------------------------------

    def _host_of(self, request: web.Request) -> str:
        """The host the visitor asked for: a trusted proxy's X-Forwarded-Host (the
        last one: the one it added), else the Host header."""
        if from_trusted_proxy(request, self._settings):
            forwarded = [h for h in request.headers.get("X-Forwarded-Host", "").split(",") if h]
            if forwarded:
                return bare_host(forwarded[-1])
        return bare_host(request.host)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        by_host = self._lookup.get(self._keyed(b"host", self._host_of(request)))
        segment, slash, _ = request.path[1:].partition("/")
        by_path = self._lookup.get(self._keyed(b"path", segment))
        mounted = by_host or by_path
        if mounted is None:
            return self.unknown()
        request[_SITE] = mounted.site
        if by_host is None and not slash:
            # "/<web_path>": its pages are under "/<web_path>/".
            raise web.HTTPPermanentRedirect(mounted.site.root)
        match = await mounted.router.resolve(request)
        return await mounted.site.calm(request, match.handler)

    def unknown(self) -> web.Response:
        return web.Response(
            status=404, body=self._unknown, content_type="text/html", charset="utf-8"
        )

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        site = request.get(_SITE)
        settings = site.settings if isinstance(site, OrganisationWeb) else self._settings
        add_security_headers(response, served_over_https(request, settings))
        response.headers["Server"] = "vertrouwd"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        app.on_response_prepare.append(self._headers)
        return app

    async def readiness(self) -> str | None:
        """None while the listener answers (the strangers' page, from our own server);
        else what is wrong (for /readyz)."""
        if self.port is None or not self._serving:
            return "not listening (yet)"
        if not await web_chat_answers(self._settings.listen, self.port):
            return f"does not answer on {self._settings.listen}:{self.port}"
        return None

    async def run(self, stopping: asyncio.Event) -> None:
        self._serving = True
        for organisation_id, runtime in self._bureau.runtimes.items():
            self._mount(organisation_id, runtime)
        try:
            async with listening(self.app(), self._settings, self._crowd) as port:
                self.port = port
                follow = asyncio.create_task(self._follow_addresses())
                try:
                    await stopping.wait()
                finally:
                    follow.cancel()
                    await asyncio.gather(follow, return_exceptions=True)
        finally:
            self._serving = False
            for organisation_id in list(self._mounted):
                await self._closing(organisation_id)
