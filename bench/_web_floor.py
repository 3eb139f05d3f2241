"""The floor for bench/web.py: an aiohttp handler doing only the unavoidable work of a
web step. It reads one sealed row through aiosqlite, re-seals it with AES-GCM, commits
it at the store's durability (WAL, synchronous=NORMAL, as vertrouwd's steps), and
returns a page of the given size.

    python -m bench._web_floor PORT DATABASE PAGE_BYTES
"""

from __future__ import annotations

import asyncio
import os
import sys

import aiosqlite
from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ROW_BYTES = 1200  # about a conversation's sealed data halfway through an intake


async def main(port: int, path: str, page_bytes: int) -> None:
    db = await aiosqlite.connect(path)
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
        await db.execute(pragma)
    await db.execute("CREATE TABLE IF NOT EXISTS rows (k BLOB PRIMARY KEY, sealed BLOB)")
    aead = AESGCM(os.urandom(32))
    page = ("<!doctype html><p>" + "x" * page_bytes)[:page_bytes].encode()

    def seal(data: bytes, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, data, key)

    async def step(request: web.Request) -> web.Response:
        key = (await request.post()).get("k", "").encode()  # type: ignore[union-attr]
        rows = list(await db.execute_fetchall("SELECT sealed FROM rows WHERE k = ?", (key,)))
        if rows:
            blob = rows[0][0]
            data = aead.decrypt(blob[:12], blob[12:], key)
        else:
            data = os.urandom(_ROW_BYTES)
        await db.execute(
            "INSERT INTO rows (k, sealed) VALUES (?, ?)"
            " ON CONFLICT (k) DO UPDATE SET sealed = excluded.sealed",
            (key, seal(data, key)),
        )
        await db.commit()
        return web.Response(body=page, content_type="text/html")

    app = web.Application()
    app.router.add_post("/step", step)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
