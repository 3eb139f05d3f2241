"""The outbox worker: delivers confirmed intakes, retrying until the sink accepts them."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.delivery.loop import RetryingDelivery
from bot.sinks.base import HandoffSink, OutgoingHandoff, Receipt
from bot.store import PendingHandoff, Store

log = logging.getLogger(__name__)


class OutboxWorker(RetryingDelivery[PendingHandoff, Receipt]):
    kind = "handoff"

    def __init__(
        self,
        store: Store,
        sink: HandoffSink,
        clock: Callable[[], float],
        retry_initial: float,
        retry_max: float,
        batch: int = 20,
        on_delivered: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(clock, retry_initial, retry_max, batch)
        self._store = store
        self._sink = sink
        self._on_delivered = on_delivered

    async def due(self, now: float, limit: int) -> list[PendingHandoff]:
        return await self._store.due_handoffs(now, limit)

    async def send(self, item: PendingHandoff) -> Receipt:
        return await self._sink.deliver(
            OutgoingHandoff(item.case_ref, item.adviser_id, item.payload)
        )

    async def record_sent(self, item: PendingHandoff, result: Receipt) -> None:
        await self._store.mark_delivered(item.id, result, self._clock())
        log.info(
            "handoff %s delivered via %s to %s as %s",
            item.case_ref,
            self._sink.name,
            result.target,
            result.ref,
        )

    async def record_waiting(self, item: PendingHandoff, retry_at: float, reason: str) -> None:
        await self._store.defer_handoff(item.id, retry_at, reason)

    async def next_due_at(self) -> float | None:
        return await self._store.next_attempt_at()

    def attempts(self, item: PendingHandoff) -> int:
        return item.attempts

    def describe(self, item: PendingHandoff) -> str:
        return f"handoff {item.case_ref}"

    def after_pass(self, delivered: int) -> None:
        self._on_delivered()  # relays waiting for these cases' threads can go

    def waited(self, item: PendingHandoff) -> float | None:
        return self._clock() - item.created_at if item.created_at else None
