"""Is the bot ready to serve? Each check names what is not, in a few words.

Ready means: the store takes writes, every switched-on channel is connected, the
homeserver answers (when Matrix is used), and no handoff or relay has waited longer
than ``ops.stuck_minutes``. Nothing here names a person, a case or content.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

import aiohttp

from bot.runtime import Runtime

OK = "ok"
_PROBE_SECONDS = 5.0


@runtime_checkable
class ReportsReadiness(Protocol):
    ops_name: str

    async def readiness(self) -> str | None:
        """None when connected; else what is wrong."""


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


class Readiness:
    def __init__(
        self,
        runtime: Runtime,
        channels: Sequence[object],
        clock: Callable[[], float],
        http: aiohttp.ClientSession,
    ) -> None:
        assert runtime.config.ops is not None
        self._runtime = runtime
        self._channels = [c for c in channels if isinstance(c, ReportsReadiness)]
        self._clock = clock
        self._http = http
        self._stuck_seconds = runtime.config.ops.stuck_minutes * 60

    async def checks(self) -> dict[str, str]:
        """Every check's answer: "ok" or what is wrong."""
        named: list[tuple[str, Awaitable[str]]] = [
            (c.ops_name, channel_answer(c)) for c in self._channels
        ]
        if self._runtime.config.matrix is not None:
            homeserver = self._runtime.config.matrix.homeserver
            named.append(("homeserver", homeserver_answer(self._http, homeserver)))
        data = asyncio.ensure_future(self.data_checks())
        answers = await asyncio.gather(*(check for _, check in named))
        results = {name: answer for (name, _), answer in zip(named, answers, strict=True)}
        return {**await data, **results}

    async def data_checks(self) -> dict[str, str]:
        """The store's and the queues' answers: what is this organisation's own."""
        queues = asyncio.ensure_future(self._queues())
        return {"store": await self._store(), **await queues}

    async def _store(self) -> str:
        try:
            await self._runtime.store.probe_write(self._clock())
        except Exception as exc:  # noqa: BLE001 - a failing check is an answer, not a crash
            return f"takes no writes ({type(exc).__name__})"
        return OK

    async def _queues(self) -> dict[str, str]:
        try:
            waiting = await self._runtime.store.waiting(self._runtime.relay.senders)
        except Exception as exc:  # noqa: BLE001
            problem = f"cannot be read ({type(exc).__name__})"
            return {"handoffs": problem, "relays": problem}
        now = self._clock()
        answers = {}
        for name, oldest in (
            ("handoffs", waiting.oldest_handoff_at),
            ("relays", waiting.oldest_relay_at),
        ):
            waited = now - oldest if oldest is not None else 0.0
            answers[name] = (
                f"one has waited {_minutes(waited)}, more than ops.stuck_minutes"
                f" ({_minutes(self._stuck_seconds)})"
                if waited > self._stuck_seconds
                else OK
            )
        return answers


async def channel_answer(channel: ReportsReadiness) -> str:
    try:
        problem = await asyncio.wait_for(channel.readiness(), _PROBE_SECONDS * 2)
    except Exception as exc:  # noqa: BLE001
        problem = f"no answer ({type(exc).__name__})"
    return problem or OK


async def homeserver_answer(http: aiohttp.ClientSession, homeserver: str) -> str:
    url = f"{homeserver}/_matrix/client/versions"
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=_PROBE_SECONDS)) as answer:
            if answer.status != 200:
                return f"answers with HTTP {answer.status}"
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return f"unreachable ({type(exc).__name__})"
    return OK
