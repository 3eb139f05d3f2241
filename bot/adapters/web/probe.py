"""Does the web chat answer on its address? For `vertrouwd doctor` beside a running bot,
and for /readyz: one request for a static file, which touches no person and no store."""

from __future__ import annotations

import asyncio

_PROBE_SECONDS = 5.0


async def web_chat_answers(host: str, port: int) -> bool:
    """Whether the web chat answers there (a running bot): its own Server header."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    try:
        async with asyncio.timeout(_PROBE_SECONDS):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(
                    b"GET /static/theme.css HTTP/1.1\r\nHost: doctor\r\nConnection: close\r\n\r\n"
                )
                head = (await reader.read(4096)).decode("latin-1")
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False
    # A bureau's listener answers this (no organisation's) address with its 404.
    answered = head.startswith(("HTTP/1.1 200", "HTTP/1.1 404"))
    return answered and "\r\nServer: vertrouwd\r\n" in head
