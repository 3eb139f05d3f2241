"""The relay worker: the line's outbox, delivering both ways until each side has it.

To the adviser: into the case's thread, through the handoff sink, once the handoff
itself is there. To the employee: on the channel they used, through that channel's
sender, when this process serves the channel. Each relay was committed before it
is sent; it loses its content once delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.config import Config
from bot.delivery.loop import RetryingDelivery
from bot.line.render import for_adviser, for_employee
from bot.messages import Reply
from bot.sinks.base import DeliveryDeferred, HandoffSink, RecipientGone, ThreadPost
from bot.store import SqliteStore
from bot.store.line_records import TO_ADVISER, PendingRelay
from bot.texts.catalog import Catalog

log = logging.getLogger(__name__)


class EmployeeSender(Protocol):
    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        """Send ``replies`` to the chat at ``address``; returns the platform's message id.

        Raises DeliveryDeferred when it cannot be sent now.
        """


def relay_txn_id(relay: PendingRelay) -> str:
    return f"vertrouwd-relay-{relay.case_ref}-{relay.id}"


class RelayWorker(RetryingDelivery[PendingRelay, str]):
    # Another process (`vertrouwd write`, a second chat) may add relays.
    poll_seconds = 5.0
    kind = "relay"

    def __init__(
        self,
        store: SqliteStore,
        sink: HandoffSink,
        catalog: Callable[[], Catalog],
        config: Config,
        clock: Callable[[], float],
        batch: int = 20,
    ) -> None:
        super().__init__(
            clock, config.outbox.retry_initial_seconds, config.outbox.retry_max_seconds, batch
        )
        self._store = store
        self._sink = sink
        self._catalog = catalog
        self._config = config
        self.senders: dict[str, EmployeeSender] = {}

    def serve(self, channel: str, sender: EmployeeSender) -> None:
        """A channel can send now: its waiting relays go out."""
        self.senders[channel] = sender
        self.wake()

    async def due(self, now: float, limit: int) -> list[PendingRelay]:
        return await self._store.due_relays(now, limit, self.senders)

    async def send(self, item: PendingRelay) -> str:
        catalog = self._catalog()
        if item.direction == TO_ADVISER:
            assert item.room_id is not None and item.thread_root is not None
            adviser_lang = self._config.adviser_language(item.adviser_id)
            post = ThreadPost(
                item.case_ref,
                item.adviser_id,
                item.room_id,
                item.thread_root,
                for_adviser(item, catalog.texts(adviser_lang)),
                relay_txn_id(item),
            )
            return (await self._sink.post_in_thread(post)).ref
        sender = self.senders.get(item.channel)
        if sender is None or item.contact is None or item.contact.address is None:
            raise DeliveryDeferred("channel-not-served")
        replies = for_employee(item, catalog.texts(item.contact.lang), self._config)
        try:
            return await sender.send_to(item.contact.address, replies, relay_txn_id(item))
        except RecipientGone as gone:
            # Not sent, and never will be: the adviser hears of it in the thread.
            log.warning("%s cannot reach the employee (%s)", self.describe(item), gone.reason)
            await self._store.note_unreachable(item.case_ref, self._clock(), gone.note)
            return ""

    async def record_sent(self, item: PendingRelay, result: str) -> None:
        await self._store.relay_delivered(item.id, result, self._clock())
        log.info("%s relayed", self.describe(item))

    async def record_waiting(self, item: PendingRelay, retry_at: float, reason: str) -> None:
        await self._store.defer_relay(item.id, retry_at, reason)

    async def next_due_at(self) -> float | None:
        return await self._store.next_relay_at(self.senders)

    def attempts(self, item: PendingRelay) -> int:
        return item.attempts

    def describe(self, item: PendingRelay) -> str:
        return f"case {item.case_ref}: {item.kind} {item.direction}"

    def order_key(self, item: PendingRelay) -> tuple[str, str]:
        return (item.case_ref, item.direction)
