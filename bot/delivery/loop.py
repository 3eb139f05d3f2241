"""Delivering a persisted queue: in order, with backoff while the receiver is away.

The outbox (handoffs) and the relay worker (the line, both ways) share this loop;
each says what is due, how one item is sent, and how the store records the result.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from bot.ops.observe import NO_OBSERVER, Observer
from bot.sinks.base import DeliveryDeferred
from bot.store import StoreError
from bot.util.waking import sleep_until_due

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """The kind of failure, never its message (which may quote content)."""
    reason = getattr(exc, "sqlite_errorname", None)  # e.g. SQLITE_FULL: no content
    return f"{type(exc).__name__} ({reason})" if reason else type(exc).__name__


Item = TypeVar("Item")
Result = TypeVar("Result")


class RetryingDelivery(ABC, Generic[Item, Result]):
    # None: sleep until woken or the next retry; a number: also look this often (for
    # items another process adds).
    poll_seconds: float | None = None
    # What is delivered, for the metrics ("handoff", "relay"), and who counts it.
    kind = "item"
    observer: Observer = NO_OBSERVER

    def __init__(
        self,
        clock: Callable[[], float],
        retry_initial: float,
        retry_max: float,
        batch: int = 20,
    ) -> None:
        self._clock = clock
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._batch = batch
        self._wake = asyncio.Event()
        self._pass_lock = asyncio.Lock()

    def wake(self) -> None:
        """Something was just queued: look now."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        return float(min(self._retry_initial * (2 ** min(attempts, 30)), self._retry_max))

    @abstractmethod
    async def due(self, now: float, limit: int) -> list[Item]:
        """Items due now, in the order they must arrive."""

    @abstractmethod
    async def send(self, item: Item) -> Result:
        """Send one item; raises DeliveryDeferred (or anything) when it must wait."""

    @abstractmethod
    async def record_sent(self, item: Item, result: Result) -> None:
        """The store notes the delivery (and drops the content)."""

    @abstractmethod
    async def record_waiting(self, item: Item, retry_at: float, reason: str) -> None:
        """The store counts the attempt and sets the next one; ``reason`` is a code."""

    @abstractmethod
    async def next_due_at(self) -> float | None:
        """When the earliest waiting item is due, or None."""

    @abstractmethod
    def attempts(self, item: Item) -> int: ...

    @abstractmethod
    def describe(self, item: Item) -> str:
        """For the log: references and kinds, never content."""

    def order_key(self, item: Item) -> Hashable:
        """Items with the same key keep their order: after one waits, the rest wait."""
        return id(item)

    def after_pass(self, delivered: int) -> None:
        """Called after a pass that delivered something."""

    def waited(self, item: Item) -> float | None:
        """How long the item waited for delivery, where known (for the metrics)."""
        return None

    async def _attempt(self, item: Item) -> bool:
        try:
            result = await self.send(item)
        except DeliveryDeferred as deferred:
            reason = deferred.reason
            delay = deferred.retry_after or self.backoff(self.attempts(item))
        except Exception as exc:  # noqa: BLE001 - any failure must leave the item queued
            reason = f"error:{type(exc).__name__}"
            delay = self.backoff(self.attempts(item))
        else:
            await self.record_sent(item, result)
            self.observer.delivered(self.kind, self.waited(item))
            return True
        await self.record_waiting(item, self._clock() + delay, reason)
        self.observer.deferred(self.kind, reason)
        log.warning(
            "%s waits (%s); attempt %d, next try in %.0f s",
            self.describe(item),
            reason,
            self.attempts(item) + 1,
            delay,
        )
        return False

    async def deliver_due(self) -> int:
        """One pass over what is due; returns how many went out."""
        delivered = 0
        async with self._pass_lock:
            while True:
                due = await self.due(self._clock(), self._batch)
                held: set[Hashable] = set()
                results = []
                for item in due:
                    if self.order_key(item) in held:
                        continue
                    sent = await self._attempt(item)
                    if not sent:
                        held.add(self.order_key(item))
                    results.append(sent)
                delivered += sum(results)
                if len(due) < self._batch or not any(results):
                    break
        if delivered:
            self.after_pass(delivered)
        return delivered

    async def run(self) -> None:
        """Deliver until cancelled: at once when woken, else when the next is due."""
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
                next_at = await self.next_due_at()
            except StoreError as exc:
                log.error("%s pass failed: %s", type(self).__name__, type(exc).__name__)
                next_at = self._clock() + self._retry_initial
            except Exception as exc:  # noqa: BLE001 - a full disk, a damaged page: try again
                # The worker must outlive it: a dead worker would deliver nothing more.
                log.error("%s pass failed: %s", type(self).__name__, describe(exc))
                next_at = self._clock() + self._retry_initial
            await sleep_until_due(self._wake, next_at, self._clock, self.poll_seconds)
