"""The relay worker: the line's outbox, delivering both ways until each side has it.

To the adviser: into the case's thread, through the handoff sink, once the handoff
itself is there. To the employee: on the channel they used, through that channel's
sender, when this process serves the channel. Each relay was committed before it
is sent; it loses its content once delivered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.config import Config
from bot.line.render import for_adviser, for_employee
from bot.messages import Reply
from bot.sinks.base import DeliveryDeferred, HandoffSink, ThreadPost
from bot.store import SqliteStore, StoreError
from bot.store.line_records import TO_ADVISER, PendingRelay
from bot.texts import Catalog
from bot.waking import sleep_until_woken

log = logging.getLogger(__name__)

_POLL_SECONDS = 5.0


class EmployeeSender(Protocol):
    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        """Send ``replies`` to the chat at ``address``; returns the platform's message id.

        Raises DeliveryDeferred when it cannot be sent now.
        """


def relay_txn_id(relay: PendingRelay) -> str:
    return f"vertrouwd-relay-{relay.case_ref}-{relay.id}"


class RelayWorker:
    def __init__(
        self,
        store: SqliteStore,
        sink: HandoffSink,
        catalog: Callable[[], Catalog],
        config: Config,
        clock: Callable[[], float],
        batch: int = 20,
    ) -> None:
        self._store = store
        self._sink = sink
        self._catalog = catalog
        self._config = config
        self._clock = clock
        self._batch = batch
        self.senders: dict[str, EmployeeSender] = {}
        self._wake = asyncio.Event()
        self._pass_lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    def serve(self, channel: str, sender: EmployeeSender) -> None:
        """A channel can send now: its waiting relays go out."""
        self.senders[channel] = sender
        self.wake()

    def _backoff(self, attempts: int) -> float:
        initial, ceiling = self._config.retry_initial_seconds, self._config.retry_max_seconds
        return float(min(initial * (2 ** min(attempts, 30)), ceiling))

    async def _send(self, relay: PendingRelay) -> str:
        catalog = self._catalog()
        if relay.direction == TO_ADVISER:
            assert relay.room_id is not None and relay.thread_root is not None
            adviser_lang = next(
                (a.language for a in self._config.advisers if a.id == relay.adviser_id),
                catalog.default_language,
            )
            post = ThreadPost(
                relay.case_ref,
                relay.adviser_id,
                relay.room_id,
                relay.thread_root,
                for_adviser(relay, catalog.texts(adviser_lang)),
                relay_txn_id(relay),
            )
            return (await self._sink.post_in_thread(post)).ref
        sender = self.senders.get(relay.channel)
        if sender is None or relay.contact is None or relay.contact.address is None:
            raise DeliveryDeferred("channel-not-served")
        replies = for_employee(relay, catalog.texts(relay.contact.lang), self._config)
        return await sender.send_to(relay.contact.address, replies, relay_txn_id(relay))

    async def _attempt(self, relay: PendingRelay) -> bool:
        try:
            ref = await self._send(relay)
        except DeliveryDeferred as deferred:
            reason = deferred.reason
            delay = deferred.retry_after or self._backoff(relay.attempts)
        except Exception as exc:  # noqa: BLE001 - a failed send must leave the relay queued
            reason = f"error:{type(exc).__name__}"
            delay = self._backoff(relay.attempts)
        else:
            await self._store.relay_delivered(relay.id, ref, self._clock())
            log.info("case %s: %s %s relayed", relay.case_ref, relay.kind, relay.direction)
            return True
        await self._store.defer_relay(relay.id, self._clock() + delay, reason)
        log.warning(
            "case %s: %s %s waits (%s); next try in %.0f s",
            relay.case_ref,
            relay.kind,
            relay.direction,
            reason,
            delay,
        )
        return False

    async def deliver_due(self) -> int:
        """One pass over the due relays, in order; returns how many went out."""
        delivered = 0
        async with self._pass_lock:
            while True:
                due = await self._store.due_relays(self._clock(), self._batch, self.senders)
                held: set[tuple[str, str]] = set()
                results = []
                for relay in due:
                    # After a failure, the case's later relays that way wait their turn.
                    if (relay.case_ref, relay.direction) in held:
                        continue
                    ok = await self._attempt(relay)
                    if not ok:
                        held.add((relay.case_ref, relay.direction))
                    results.append(ok)
                delivered += sum(results)
                if len(due) < self._batch or not any(results):
                    return delivered

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
                next_at = await self._store.next_relay_at(self.senders)
            except StoreError as exc:
                log.error("relay pass failed: %s", type(exc).__name__)
                next_at = self._clock() + self._config.retry_initial_seconds
            # Another process (`vertrouwd write`, a second chat) may add relays: look
            # again every few seconds even when nothing here is due.
            due_in = _POLL_SECONDS if next_at is None else next_at - self._clock()
            await sleep_until_woken(self._wake, max(0.0, min(due_in, _POLL_SECONDS)))
