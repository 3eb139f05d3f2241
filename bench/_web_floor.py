"""The floor for bench/web.py: an aiohttp server doing only the unavoidable work of a
web step, over the same requests the chat answers.

- ``POST /start`` seals a fresh session cookie (AES-GCM over a small JSON value, as
  vertrouwd's ``SessionKeys.seal``) and redirects (303) to ``/chat``.
- ``POST /chat`` opens the cookie, reads the form and checks its CSRF token, reads
  the person's sealed row through aiosqlite, re-seals it and commits it at the
  store's durability (WAL, synchronous=NORMAL, as vertrouwd's steps), then redirects
  (303) to ``/chat``.
- ``GET /chat`` opens the cookie, reads and opens the sealed row (what the page
  shows), and returns a page of the given size with the form fields a visitor needs
  (the CSRF token bound to the cookie, a fresh form id).

    python -m bench._web_floor PORT DATABASE PAGE_BYTES
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys

import aiosqlite
from aiohttp import web
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ROW_BYTES = 1200  # about a conversation's sealed data halfway through an intake
_COOKIE = "vw"


async def main(port: int, path: str, page_bytes: int) -> None:
    db = await aiosqlite.connect(path)
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
        await db.execute(pragma)
    await db.execute("CREATE TABLE IF NOT EXISTS rows (k BLOB PRIMARY KEY, sealed BLOB)")
    aead = AESGCM(os.urandom(32))
    cookies = AESGCM(os.urandom(32))
    csrf_key = os.urandom(32)

    def csrf(request: web.Request) -> str:
        cookie = request.cookies.get(_COOKIE, "").encode()
        return hmac.new(csrf_key, cookie, hashlib.sha256).hexdigest()[:32]

    fields = '<input name="csrf" value="{csrf}"><input name="m" value="{m}">'
    filler = page_bytes - len(fields.format(csrf="0" * 32, m="0" * 16)) - 18

    def seal(data: bytes, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, data, key)

    def seal_cookie(key: str) -> str:
        nonce = os.urandom(12)
        data = json.dumps([key, None, None]).encode()
        blob = nonce + cookies.encrypt(nonce, data, _COOKIE.encode())
        return base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open_cookie(request: web.Request) -> bytes:
        value = request.cookies.get(_COOKIE, "")
        try:
            blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            key, _, _ = json.loads(cookies.decrypt(blob[:12], blob[12:], _COOKIE.encode()))
        except (InvalidTag, ValueError, TypeError) as exc:
            raise web.HTTPForbidden() from exc
        return str(key).encode()

    async def row(key: bytes) -> bytes | None:
        rows = list(await db.execute_fetchall("SELECT sealed FROM rows WHERE k = ?", (key,)))
        if not rows:
            return None
        blob = rows[0][0]
        return aead.decrypt(blob[:12], blob[12:], key)

    async def save(key: bytes, data: bytes) -> None:
        await db.execute(
            "INSERT INTO rows (k, sealed) VALUES (?, ?)"
            " ON CONFLICT (k) DO UPDATE SET sealed = excluded.sealed",
            (key, seal(data, key)),
        )
        await db.commit()

    def from_our_page(request: web.Request) -> None:
        # The chat's check that a post comes from its own page (Origin against Host).
        if request.headers.get("Origin") != f"{request.scheme}://{request.host}":
            raise web.HTTPForbidden()

    async def start(request: web.Request) -> web.Response:
        from_our_page(request)
        await request.post()
        key = secrets.token_hex(10)
        await save(key.encode(), os.urandom(_ROW_BYTES))
        response = web.Response(status=303, headers={"Location": "/chat"})
        response.set_cookie(_COOKIE, seal_cookie(key), httponly=True, samesite="Strict")
        return response

    async def step(request: web.Request) -> web.Response:
        from_our_page(request)
        key = open_cookie(request)
        form = await request.post()
        if not hmac.compare_digest(str(form.get("csrf", "")), csrf(request)):
            raise web.HTTPForbidden()
        data = await row(key) or os.urandom(_ROW_BYTES)
        await save(key, data)
        return web.Response(status=303, headers={"Location": "/chat"})

    async def page(request: web.Request) -> web.Response:
        key = open_cookie(request)
        await row(key)
        body = (
            "<!doctype html><p>"
            + fields.format(csrf=csrf(request), m=secrets.token_hex(8))
            + "x" * max(filler, 0)
        )
        return web.Response(text=body, content_type="text/html")

    async def front(request: web.Request) -> web.Response:
        return web.Response(text=fields.format(csrf="0" * 32, m="0" * 16), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", front)
    app.router.add_post("/start", start)
    app.router.add_post("/chat", step)
    app.router.add_get("/chat", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
