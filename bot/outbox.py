"""The outbox worker: delivers confirmed intakes, retrying until the sink accepts them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.sinks.base import DeliveryDeferred, HandoffSink, OutgoingHandoff
from bot.store import PendingHandoff, Store, StoreError
from bot.waking import sleep_until_woken

log = logging.getLogger(__name__)


class OutboxWorker:
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
        self._store = store
        self._sink = sink
        self._clock = clock
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._batch = batch
        self._on_delivered = on_delivered
        self._wake = asyncio.Event()
        self._pass_lock = asyncio.Lock()

    def wake(self) -> None:
        """A handoff was just committed: look at the outbox now."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        return float(min(self._retry_initial * (2 ** min(attempts, 30)), self._retry_max))

    async def _attempt(self, pending: PendingHandoff) -> bool:
        handoff = OutgoingHandoff(pending.case_ref, pending.adviser_id, pending.payload)
        try:
            receipt = await self._sink.deliver(handoff)
        except DeliveryDeferred as deferred:
            reason = deferred.reason
            delay = deferred.retry_after or self.backoff(pending.attempts)
        except Exception as exc:  # noqa: BLE001 - any sink failure must leave the handoff queued
            reason = f"error:{type(exc).__name__}"
            delay = self.backoff(pending.attempts)
        else:
            await self._store.mark_delivered(pending.id, receipt, self._clock())
            log.info(
                "handoff %s delivered via %s to %s as %s",
                pending.case_ref,
                self._sink.name,
                receipt.target,
                receipt.ref,
            )
            return True
        await self._store.defer_handoff(pending.id, self._clock() + delay, reason)
        log.warning(
            "handoff %s waits (%s); attempt %d, next try in %.0f s",
            pending.case_ref,
            reason,
            pending.attempts + 1,
            delay,
        )
        return False

    async def deliver_due(self) -> int:
        """One pass over the due handoffs; returns how many were delivered."""
        delivered = 0
        async with self._pass_lock:
            while True:
                due = await self._store.due_handoffs(self._clock(), self._batch)
                results = [await self._attempt(pending) for pending in due]
                delivered += sum(results)
                if any(results):
                    self._on_delivered()
                if len(due) < self._batch or not any(results):
                    return delivered

    async def run(self) -> None:
        """Deliver until cancelled: at once when woken, otherwise when the next retry is due."""
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
                next_at = await self._store.next_attempt_at()
            except StoreError as exc:
                log.error("outbox pass failed: %s", type(exc).__name__)
                next_at = self._clock() + self._retry_initial
            timeout = None if next_at is None else max(0.0, next_at - self._clock())
            await sleep_until_woken(self._wake, timeout)
