"""The store contract, run over every store implementation on a real file."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.keys.crypto import FieldCipher, KeyMaterial, UserKey, new_key_material
from bot.sinks.base import Receipt
from bot.store import (
    CaseRefTaken,
    ConversationRecord,
    DeliveredHandoff,
    NewHandoff,
    SqliteStore,
    Store,
    StoreError,
)
from bot.store.key_record import KeyMismatch
from bot.store.line_records import AdviserStep, CaseContact, NewCase, RelayNote, Timer

Opener = Callable[[Path, FieldCipher], Awaitable[Store]]


async def open_sqlite(folder: Path, cipher: FieldCipher) -> Store:
    return await SqliteStore.open(folder / "store.sqlite3", cipher, "handoff-synced")


STORES: dict[str, Opener] = {"sqlite": open_sqlite}
ALICE = UserKey(b"a" * 32)
BOB = UserKey(b"b" * 32)
SECRET = "Secret words 0xC0FFEE"


@pytest.fixture
def keys() -> KeyMaterial:
    return new_key_material()


@pytest.fixture(params=sorted(STORES))
async def store(request, tmp_path: Path, keys: KeyMaterial) -> AsyncIterator[Store]:
    opened = await STORES[request.param](tmp_path, FieldCipher(keys))
    yield opened
    await opened.close()


def record(description: str = SECRET) -> ConversationRecord:
    return ConversationRecord("description", "en", {"answers": {"description": description}})


def handoff(case_ref: str = "ACDE-FGHJ") -> NewHandoff:
    return NewHandoff(case_ref, "adviser-a", {"answers": {"description": SECRET}})


async def test_a_saved_step_loads_back_the_same(store: Store):
    assert await store.load_conversation(ALICE) is None
    await store.save_step(ALICE, record(), None, now=100.0)
    assert await store.load_conversation(ALICE) == record()
    assert await store.load_conversation(BOB) is None


async def test_nothing_personal_is_stored_in_plain_text(store: Store, tmp_path: Path):
    await store.save_step(ALICE, record(), handoff(), now=100.0)
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name


async def test_a_sealed_field_moved_to_another_row_does_not_open(store: Store, tmp_path: Path):
    await store.save_step(ALICE, record(), None, now=100.0)
    await store.save_step(BOB, record("Bob's words"), None, now=100.0)
    with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
        raw.execute(
            "UPDATE conversations SET sealed = (SELECT sealed FROM conversations"
            " WHERE user_key = ?) WHERE user_key = ?",
            (ALICE, BOB),
        )
    with pytest.raises(StoreError):
        await store.load_conversation(BOB)


async def test_handoff_is_written_with_the_step_and_delivered_once(store: Store):
    await store.save_step(ALICE, record(), handoff(), now=100.0)
    assert await store.pending_count() == 1
    [due] = await store.due_handoffs(now=100.0, limit=10)
    assert due.case_ref == "ACDE-FGHJ" and due.payload["answers"]["description"] == SECRET
    assert await store.delivered_handoff("ACDE-FGHJ") is None
    await store.mark_delivered(due.id, Receipt("$event", "!room:hs"), now=101.0)
    assert await store.pending_count() == 0
    assert await store.due_handoffs(now=1e12, limit=10) == []
    kept = await store.delivered_handoff("ACDE-FGHJ")
    assert kept == DeliveredHandoff(
        "ACDE-FGHJ", "adviser-a", 100.0, 101.0, Receipt("$event", "!room:hs")
    )


async def test_a_deferred_handoff_waits_until_its_retry_time(store: Store):
    await store.save_step(ALICE, record(), handoff(), now=100.0)
    [due] = await store.due_handoffs(now=100.0, limit=10)
    await store.defer_handoff(due.id, retry_at=160.0, reason="homeserver-unreachable")
    assert await store.due_handoffs(now=159.0, limit=10) == []
    assert await store.next_attempt_at() == 160.0
    [again] = await store.due_handoffs(now=160.0, limit=10)
    assert again.attempts == 1


async def test_a_taken_case_reference_fails_the_whole_step(store: Store):
    await store.save_step(ALICE, record(), handoff(), now=100.0)
    with pytest.raises(CaseRefTaken):
        await store.save_step(BOB, record("Bob's words"), handoff(), now=100.0)
    assert await store.load_conversation(BOB) is None
    assert await store.pending_count() == 1


async def test_erasing_a_person_removes_undelivered_handoffs_but_not_delivered_records(
    store: Store,
):
    await store.save_step(ALICE, record(), handoff("ACDE-0001"), now=100.0)
    [delivered] = await store.due_handoffs(now=100.0, limit=10)
    await store.mark_delivered(delivered.id, Receipt("$event", "!room:hs"), now=101.0)
    await store.save_step(ALICE, record(), handoff("ACDE-0002"), now=102.0)
    await store.save_step(BOB, record(), handoff("ACDE-0003"), now=102.0)
    await store.save_step(ALICE, None, None, now=103.0)
    assert await store.load_conversation(ALICE) is None
    remaining = await store.due_handoffs(now=1e12, limit=10)
    assert [h.case_ref for h in remaining] == ["ACDE-0003"]


async def test_idle_conversations_are_purged_and_fresh_ones_kept(store: Store):
    await store.save_step(ALICE, record(), None, now=100.0)
    await store.save_step(BOB, record(), None, now=200.0)
    assert await store.purge_idle_conversations(idle_since=150.0) == 1
    assert await store.load_conversation(ALICE) is None
    assert await store.load_conversation(BOB) is not None


@pytest.mark.parametrize("name", sorted(STORES))
async def test_reopening_keeps_data_and_schema(name: str, tmp_path: Path, keys: KeyMaterial):
    first = await STORES[name](tmp_path, FieldCipher(keys))
    await first.save_step(ALICE, record(), None, now=100.0)
    await first.close()
    second = await STORES[name](tmp_path, FieldCipher(keys))
    assert await second.load_conversation(ALICE) == record()
    await second.close()


@pytest.mark.parametrize("name", sorted(STORES))
async def test_data_sealed_before_a_key_rotation_stays_readable(
    name: str, tmp_path: Path, keys: KeyMaterial
):
    first = await STORES[name](tmp_path, FieldCipher(keys))
    await first.save_step(ALICE, record(), None, now=100.0)
    await first.close()
    rotated = KeyMaterial(keys.lookup_key, {**keys.data_keys, 2: b"\x07" * 32}, current=2)
    second = await STORES[name](tmp_path, FieldCipher(rotated))
    assert await second.load_conversation(ALICE) == record()
    await second.save_step(BOB, record(), None, now=100.0)
    await second.close()
    old_only = await STORES[name](tmp_path, FieldCipher(keys))
    with pytest.raises(StoreError):
        await old_only.load_conversation(BOB)  # sealed with key 2, which it does not have
    await old_only.close()


async def test_conversations_are_counted(store: Store):
    assert await store.conversation_count() == 0
    await store.save_step(ALICE, record(), None, now=100.0)
    await store.save_step(BOB, record(), None, now=100.0)
    await store.save_step(ALICE, record("again"), None, now=101.0)
    assert await store.conversation_count() == 2


def handoff_with_case(case_ref: str, pseudonym: str = SECRET) -> NewHandoff:
    contact = CaseContact(address="chat-1", lang="en", pseudonym=pseudonym)
    timer = Timer("reply_reminder", 500.0)
    case = NewCase("terminal", contact, whistleblower=False, timers=(timer,))
    return NewHandoff(case_ref, "adviser-a", {"answers": {}}, case)


async def test_a_case_opens_with_its_handoff_sealed_and_its_timers(store: Store, tmp_path: Path):
    await store.save_step(ALICE, record(), handoff_with_case("ACDE-FGHJ"), now=100.0)
    assert await store.open_case(ALICE) == "ACDE-FGHJ"
    assert await store.open_case(BOB) is None
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name


async def test_a_case_contact_moved_to_another_case_does_not_open(store: Store, tmp_path: Path):
    assert isinstance(store, SqliteStore)
    await store.save_step(ALICE, record(), handoff_with_case("ACDE-FGHJ"), now=100.0)
    await store.save_step(BOB, record(), handoff_with_case("KMNP-QRST", "Bob"), now=100.0)
    await store.mark_delivered(2, Receipt("$bob", "!room"), now=101.0)
    with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
        raw.execute(
            "UPDATE cases SET sealed = (SELECT sealed FROM cases WHERE case_ref = 'ACDE-FGHJ')"
            " WHERE case_ref = 'KMNP-QRST'"
        )
    note = RelayNote("to_employee", "message", text="hello")
    await store.adviser_step(AdviserStep("KMNP-QRST", "$e1", notes=(note,)), now=102.0)
    assert await store.due_relays(103.0, 10, ["terminal"]) == []  # waits for the right key


async def test_an_adviser_event_and_a_timer_act_once(store: Store):
    assert isinstance(store, SqliteStore)
    await store.save_step(ALICE, record(), handoff_with_case("ACDE-FGHJ"), now=100.0)
    note = RelayNote("to_employee", "message", text="hello")
    step = AdviserStep("ACDE-FGHJ", "$e1", notes=(note,), replied=True)
    assert await store.adviser_step(step, now=101.0) is True
    assert await store.adviser_step(step, now=102.0) is False
    [timer] = await store.due_timers(600.0)
    assert await store.fire_timer(timer.id, timer.case_ref, (), now=600.0) is True
    assert await store.fire_timer(timer.id, timer.case_ref, (), now=601.0) is False
    assert await store.due_timers(700.0) == []
    [relay] = await store.due_relays(103.0, 10, ["terminal"])
    assert (relay.text, relay.contact) == ("hello", CaseContact("chat-1", "en", SECRET))


async def test_a_relay_text_moved_to_another_relay_does_not_open(store: Store, tmp_path: Path):
    assert isinstance(store, SqliteStore)
    await store.save_step(ALICE, record(), handoff_with_case("ACDE-FGHJ"), now=100.0)
    notes = (
        RelayNote("to_employee", "message", text="first"),
        RelayNote("to_employee", "message", text="second"),
    )
    await store.adviser_step(AdviserStep("ACDE-FGHJ", "$e1", notes=notes), now=101.0)
    with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
        raw.execute(
            "UPDATE relays SET sealed = (SELECT sealed FROM relays WHERE id = 1) WHERE id = 2"
        )
    [left] = await store.due_relays(102.0, 10, ["terminal"])
    assert left.text == "first"  # the second waits for the right key; nothing else opens


async def test_the_queues_show_how_many_wait_and_since_when(store: Store):
    empty = await store.waiting(["terminal"])
    assert (empty.handoffs, empty.oldest_handoff_at, empty.relays) == (0, None, 0)
    await store.save_step(ALICE, record(), handoff_with_case("ACDE-FGHJ"), now=100.0)
    await store.save_step(BOB, record(), handoff(case_ref="KMNP-QRST"), now=150.0)
    waiting = await store.waiting(["terminal"])
    assert (waiting.handoffs, waiting.oldest_handoff_at) == (2, 100.0)
    await store.mark_delivered(1, Receipt("$ev", "!room"), now=160.0)
    note = RelayNote("to_employee", "message", text="hello")
    assert isinstance(store, SqliteStore)
    await store.adviser_step(AdviserStep("ACDE-FGHJ", "$e1", notes=(note,)), now=170.0)
    waiting = await store.waiting(["terminal"])
    assert (waiting.handoffs, waiting.oldest_handoff_at) == (1, 150.0)
    assert (waiting.relays, waiting.oldest_relay_at) == (1, 170.0)
    # A relay to a channel this process does not serve is not this process's to send.
    elsewhere = await store.waiting(["telegram"])
    assert (elsewhere.relays, elsewhere.oldest_relay_at) == (1, None)


async def test_the_store_proves_it_takes_writes(store: Store, tmp_path: Path):
    await store.probe_write(now=100.0)
    await store.probe_write(now=102.0)
    with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
        assert raw.execute("SELECT at FROM ops_probe").fetchall() == [(102.0,)]


@pytest.mark.parametrize("name", sorted(STORES))
async def test_a_database_of_a_newer_version_is_refused_and_left_as_it_was(
    name: str, tmp_path: Path, keys: KeyMaterial
):
    first = await STORES[name](tmp_path, FieldCipher(keys))
    await first.save_step(ALICE, record(), None, now=100.0)
    await first.close()
    with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
        raw.execute("INSERT INTO schema_version (version) VALUES (999)")
        raw.execute("UPDATE written_by SET version = '9.4.0'")
    with pytest.raises(StoreError) as refused:
        await STORES[name](tmp_path, FieldCipher(keys))
    message = str(refused.value)
    assert "written by a newer vertrouwd (9.4.0), with schema version 999" in message
    assert "does not migrate a database back" in message
    with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
        assert raw.execute("SELECT MAX(version) FROM schema_version").fetchall() == [(999,)]
        assert raw.execute("SELECT version FROM written_by").fetchall() == [("9.4.0",)]


async def test_every_sealed_field_is_sealed_again_with_a_new_key(
    store: Store, tmp_path: Path, keys: KeyMaterial
):
    assert isinstance(store, SqliteStore)
    await store.save_step(ALICE, record(), handoff_with_case("ACDE-FGHJ"), now=100.0)
    note = RelayNote("to_employee", "message", text=SECRET)
    await store.adviser_step(AdviserStep("ACDE-FGHJ", "$e1", notes=(note,)), now=101.0)
    rotated = KeyMaterial(keys.lookup_key, {**keys.data_keys, 2: b"\x07" * 32}, current=2)
    store._cipher.use(rotated)
    assert await store.sealed_with_old_keys() == 4  # conversation, handoff, case, relay
    done = await store.reseal(batch=1)
    assert (done.resealed, done.unreadable) == (4, 0)
    assert await store.sealed_with_old_keys() == 0
    store._cipher.use(KeyMaterial(keys.lookup_key, {2: b"\x07" * 32}, current=2))  # 1 retired
    assert await store.load_conversation(ALICE) == record()
    [pending] = await store.due_handoffs(now=200.0, limit=10)
    assert pending.payload == handoff_with_case("ACDE-FGHJ").payload
    [relay] = await store.due_relays(200.0, 10, ["terminal"])
    assert relay.text == SECRET and relay.contact is not None


# -- faults: an unreadable row hides no other, another key opens nothing ------------------


async def test_an_unreadable_handoff_waits_and_the_next_is_still_due(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    await store.save_step(ALICE, record(), NewHandoff("ACDE-FGHJ", "adviser-a", {"n": 1}), 100.0)
    await store.save_step(BOB, record(), NewHandoff("KLMN-PQRS", "adviser-a", {"n": 2}), 101.0)
    with sqlite3.connect(tmp_path / "store.sqlite3") as raw:
        raw.execute("UPDATE outbox SET sealed = X'0001deadbeef' WHERE case_ref = 'ACDE-FGHJ'")
    with caplog.at_level(logging.ERROR):
        [due] = await store.due_handoffs(now=200.0, limit=10)
    assert due.case_ref == "KLMN-PQRS"
    assert "handoff ACDE-FGHJ cannot be decrypted" in caplog.text
    assert await store.pending_count() == 2  # kept, not dropped


@pytest.mark.parametrize("name", sorted(STORES))
async def test_another_key_opens_nothing_and_changes_nothing(
    tmp_path: Path, keys: KeyMaterial, name: str
):
    opened = await STORES[name](tmp_path, FieldCipher(keys))
    await opened.save_step(ALICE, record(), None, 100.0)
    await opened.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(KeyMismatch, match="was sealed with another key file"):
        await STORES[name](tmp_path, FieldCipher(new_key_material()))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    reopened = await STORES[name](tmp_path, FieldCipher(keys))
    assert await reopened.load_conversation(ALICE) == record()
    await reopened.close()
