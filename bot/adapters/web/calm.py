"""Around every request: the visit's session opened before and written after, and a
calm page instead of an error or a traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.adapters.web.app import WebChat
from bot.util.failures import describe_failure

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def calm_pages(chat: WebChat) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def calm(request: web.Request, handler: Handler) -> web.StreamResponse:
        await chat.visits.open(request)
        try:
            response = await handler(request)
        except web.HTTPRedirection:
            raise
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            log.info("web: a request was refused (%d)", exc.status)
            response = chat.error_page(request, exc.status, exc.reason)
        except ConnectionError:
            # The visitor went away (a closed tab): nothing failed on our side.
            log.debug("web: a visitor left before the answer was sent")
            response = web.Response(status=400)
            response.force_close()
            return response
        except Exception as exc:  # noqa: BLE001 - a calm page, never a traceback
            log.error("web: a request failed: %s", describe_failure(exc))
            response = chat.error_page(request, 500, "error")
        chat.visits.write(request, response)
        return response

    return calm
