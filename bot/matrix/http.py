"""Plain Matrix client-server calls that matrix-nio does not offer, on nio's own session."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import AsyncClient

from bot.matrix.errors import HomeserverUnreachable, MatrixHttpError

# What a request raises when the homeserver cannot be reached at all.
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, asyncio.TimeoutError)


class MatrixHttp:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self._client.access_token:
            headers["Authorization"] = f"Bearer {self._client.access_token}"
        data = None if body is None else json.dumps(body)
        try:
            response = await self._client.send(method, path, data, headers)
            parsed = await response.json(content_type=None)
        except NETWORK_ERRORS as exc:
            raise HomeserverUnreachable(type(exc).__name__) from exc
        except json.JSONDecodeError as exc:
            raise MatrixHttpError(response.status, None, {}) from exc
        result = parsed if isinstance(parsed, dict) else {"value": parsed}
        if response.status >= 400:
            raise MatrixHttpError(response.status, result.get("errcode"), result)
        return result

    async def keys_query(self, user_ids: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"device_keys": {user_id: [] for user_id in user_ids}}
        return await self.request("POST", "/_matrix/client/v3/keys/query", body)

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state"
        result = await self.request("GET", path)
        events = result.get("value", [])
        return [e for e in events if isinstance(e, dict)]
