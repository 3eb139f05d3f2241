"""The ops listener of a bureau: one /healthz, /readyz and /metrics for all its
organisations.

/metrics counts every organisation together, with no organisation label and no figure
per organisation: whoever sees a dashboard must not tell one client's requests from
another's (a small client's one request would show as its own line). /readyz is the
operator's: it names by id the organisations that are not served, or whose store or
queue is in trouble, and never a count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

import aiohttp

from bot.ops.metrics import PrometheusObserver
from bot.ops.readiness import (
    OK,
    Readiness,
    ReportsReadiness,
    channel_answer,
    homeserver_answer,
)
from bot.ops.server import listening, ops_app
from bot.runtime.bureau import Bureau
from bot.store.base import Waiting

log = logging.getLogger(__name__)
_PER_ORGANISATION = ("store", "handoffs", "relays")


class BureauReadiness:
    def __init__(
        self,
        bureau: Bureau,
        channels: Sequence[object],
        clock: Callable[[], float],
        http: aiohttp.ClientSession,
    ) -> None:
        self._bureau = bureau
        self._channels = [c for c in channels if isinstance(c, ReportsReadiness)]
        self._clock = clock
        self._http = http

    async def checks(self) -> dict[str, str]:
        runtimes = self._bureau.runtimes
        own = asyncio.gather(
            *(
                Readiness(runtime, [], self._clock, self._http).data_checks()
                for runtime in runtimes.values()
            )
        )
        shared = [channel_answer(c) for c in self._channels]
        matrix = self._bureau.config.matrix
        if matrix is not None:
            shared.append(homeserver_answer(self._http, matrix.homeserver))
        names = [c.ops_name for c in self._channels] + (["homeserver"] if matrix else [])
        per_organisation, answers = await asyncio.gather(own, asyncio.gather(*shared))
        checks = {"organisations": self._served()}
        for name in _PER_ORGANISATION:
            troubled = [
                f"{organisation_id}: {found[name]}"
                for organisation_id, found in zip(runtimes, per_organisation, strict=True)
                if found[name] != OK
            ]
            checks[name] = "; ".join(troubled) or OK
        return {**checks, **dict(zip(names, answers, strict=True))}

    def _served(self) -> str:
        not_served = self._bureau.not_served
        if not not_served:
            return OK
        return f"not served: {', '.join(not_served)} (the log says why)"


async def all_waiting(bureau: Bureau) -> Waiting:
    """The queues of every organisation, added up: one figure for the bureau."""
    runtimes = bureau.runtimes
    found = await asyncio.gather(
        *(runtime.store.waiting(runtime.relay.senders) for runtime in runtimes.values()),
        return_exceptions=True,
    )
    waiting: list[Waiting] = []
    for organisation_id, answer in zip(runtimes, found, strict=True):
        if isinstance(answer, BaseException):
            log.error("metrics: organisation %s: its store cannot be read", organisation_id)
            raise answer
        waiting.append(answer)
    return Waiting(
        sum(w.handoffs for w in waiting),
        _earliest(w.oldest_handoff_at for w in waiting),
        sum(w.relays for w in waiting),
        _earliest(w.oldest_relay_at for w in waiting),
    )


def _earliest(times: Iterable[float | None]) -> float | None:
    return min((t for t in times if t is not None), default=None)


@contextlib.asynccontextmanager
async def bureau_ops_listener(
    bureau: Bureau, channels: Sequence[object], clock: Callable[[], float]
) -> AsyncIterator[None]:
    """Listen while the block runs (nothing at all when [ops] is off)."""
    settings = bureau.config.ops
    observer = bureau.shared.observer
    if settings is None:
        yield
        return
    assert isinstance(observer, PrometheusObserver)  # open_bureau made it, [ops] being on

    async def waiting() -> Waiting:
        return await all_waiting(bureau)

    def readiness(http: aiohttp.ClientSession) -> BureauReadiness:
        return BureauReadiness(bureau, channels, clock, http)

    async with listening(settings, ops_app(settings, observer, waiting, readiness)):
        yield
