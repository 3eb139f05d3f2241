"""The outbox: a handoff waits while the adviser's side is away and arrives exactly once."""

from __future__ import annotations

from pathlib import Path

from bot.delivery.outbox import OutboxWorker
from bot.engine import Engine
from bot.keys.crypto import FieldCipher, UserKeyer, load_or_create_keys
from bot.line.clock import TimerWorker
from bot.line.desk import AdviserDesk
from bot.line.relay import RelayWorker
from bot.runtime import Runtime, open_runtime
from bot.sinks.base import DeliveryDeferred, OutgoingHandoff, Receipt
from bot.sinks.local_inbox import LocalInbox
from bot.store import SqliteStore
from bot.texts.catalog import load_catalog
from tests.conftest import FakeClock, Person, make_config


class UnreachableThenUp:
    """Stands in for a homeserver that is down for the first ``down_for`` attempts."""

    name = "flaky"

    def __init__(self, inbox: LocalInbox, down_for: int) -> None:
        self.inbox = inbox
        self.down_for = down_for
        self.attempts = 0

    async def deliver(self, handoff: OutgoingHandoff) -> Receipt:
        self.attempts += 1
        if self.attempts <= self.down_for:
            raise DeliveryDeferred("homeserver-unreachable")
        return await self.inbox.deliver(handoff)

    async def close(self) -> None:
        await self.inbox.close()


async def test_handoff_waits_with_backoff_and_is_delivered_once_the_sink_is_back(
    tmp_path: Path, clock: FakeClock
):
    config = make_config(tmp_path)
    keys = load_or_create_keys(config.key_file)
    cipher = FieldCipher(keys)
    catalog = load_catalog(config.locales_dir, config.bot.default_language)
    store = await SqliteStore.open(tmp_path / "store.sqlite3", cipher, config.storage.durability)
    inbox = await LocalInbox.open(tmp_path, cipher, clock)
    flaky = UnreachableThenUp(inbox, down_for=3)
    worker = OutboxWorker(store, flaky, clock, 2.0, 600.0)
    engine = Engine(store, lambda: catalog, config, UserKeyer(keys), clock, worker.wake)
    try:
        relay = RelayWorker(store, flaky, lambda: catalog, config, clock)
        timers = TimerWorker(store, config, clock, relay.wake)
        desk = AdviserDesk(store, config, lambda: catalog, clock, relay.wake)
        runtime = Runtime(config, catalog, store, inbox, worker, engine, relay, timers, desk)
        person = Person(runtime, "waiting")
        await person.full_intake()
        waits = []
        for _ in range(4):
            await worker.deliver_due()
            next_at = await store.next_attempt_at()
            if next_at is None:
                break
            waits.append(next_at - clock())
            clock.advance(waits[-1])
        assert waits == [2.0, 4.0, 8.0]  # exponential backoff from 2 s
        assert await store.pending_count() == 0
        assert flaky.attempts == 4
        assert len(await inbox.items()) == 1
    finally:
        await store.close()
        await inbox.close()


async def test_a_repeated_delivery_is_not_doubled_in_the_inbox(tmp_path: Path):
    config = make_config(tmp_path)
    async with open_runtime(config) as rt:
        handoff = OutgoingHandoff("ACDE-FGHJ", "adviser-a", {"urgent": False, "case_ref": "x"})
        first = await rt.inbox.deliver(handoff)
        second = await rt.inbox.deliver(handoff)
        assert first == second
        assert len(await rt.inbox.items()) == 1


def test_backoff_is_capped():
    worker = OutboxWorker(None, None, lambda: 0.0, 2.0, 600.0)  # type: ignore[arg-type]
    assert [worker.backoff(n) for n in (0, 1, 2, 8, 9, 50)] == [2, 4, 8, 512, 600, 600]
