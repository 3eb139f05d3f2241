"""The store contract for the annual report's counts and registrations, on a real file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.keys.crypto import UserKey
from bot.sinks.base import Receipt
from bot.store import ConversationRecord, NewHandoff, SqliteStore, StoreError
from bot.store.line_records import AdviserStep, CaseContact, NewCase
from bot.store.stat_records import Count, Registration, StatRow, Tally

ALICE = UserKey(b"a" * 32)
REF = "ACDE-FGHJ"


def tally(*counts: Count, year: int = 2026, quarter: int = 2) -> Tally:
    return Tally(year, quarter, "adviser-a", counts)


async def opened_case(store: SqliteStore, ref: str = REF, counted: Tally | None = None) -> None:
    case = NewCase("terminal", CaseContact("alice", "en", "Robin"), whistleblower=False)
    handoff = NewHandoff(ref, "adviser-a", {"answers": {}}, case, counted)
    await store.save_step(ALICE, ConversationRecord("sent", "en", {}), handoff, now=100.0)


async def test_counts_add_up_per_period_adviser_dimension_and_value(store: SqliteStore):
    await store.add_counts(tally(Count("topic", "bullying"), Count("urgent", "no")), None, 1.0)
    await store.add_counts(tally(Count("topic", "bullying")), None, 2.0)
    await store.add_counts(tally(Count("topic", "bullying"), quarter=3), None, 3.0)
    await store.add_counts(tally(Count("topic", "bullying"), year=2025), None, 4.0)
    assert await store.statistics([2026], None) == [
        StatRow(2026, 2, "adviser-a", "topic", "bullying", 2),
        StatRow(2026, 2, "adviser-a", "urgent", "no", 1),
        StatRow(2026, 3, "adviser-a", "topic", "bullying", 1),
    ]
    assert await store.statistics([2026], "adviser-b") == []
    assert len(await store.statistics([2025, 2026], "adviser-a")) == 4


async def test_an_adviser_event_adds_its_counts_once(store: SqliteStore):
    assert await store.add_counts(tally(Count("activity", "training")), "$ev1", 1.0)
    assert not await store.add_counts(tally(Count("activity", "training")), "$ev1", 2.0)
    [row] = await store.statistics([2026], None)
    assert row.count == 1


@pytest.mark.parametrize(
    "bad",
    [
        Count("topic", "ACDE-FGHJ"),  # a case reference is not a code
        Count("topic", "Robin said he shouts"),  # free text
        Count("topic", "@robin:example.org"),  # a platform id
        Count("topic", "bullying", -1),
    ],
)
async def test_anything_but_a_code_and_an_amount_is_refused(store: SqliteStore, bad: Count):
    with pytest.raises(StoreError):
        await store.add_counts(tally(bad), None, 1.0)
    assert await store.statistics([2026], None) == []


async def test_the_table_itself_refuses_text_written_past_the_store(tmp_path: Path, store):
    db = sqlite3.connect(tmp_path / "store.sqlite3")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO statistics VALUES (2026, 1, 'adviser-a', 'topic', 'Robin Jansen', 1)"
        )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO statistics VALUES (2026, 5, 'adviser-a', 'topic', 'bullying', 1)")
    db.close()


async def test_the_handoffs_counts_are_written_with_it_or_not_at_all(store: SqliteStore):
    await opened_case(store, counted=tally(Count("contact", "bot")))
    assert [r.value for r in await store.statistics([2026], None)] == ["bot"]
    # The same case reference again: the step fails whole, its counts with it.
    with pytest.raises(StoreError):
        await opened_case(store, counted=tally(Count("contact", "bot")))
    [row] = await store.statistics([2026], None)
    assert row.count == 1


async def test_the_first_contact_is_counted_with_the_first_answer_only(store: SqliteStore):
    await opened_case(store)
    first = tally(Count("first_contact", "1"))
    await store.adviser_step(AdviserStep(REF, "$a", replied=True, first_contact=first), 200.0)
    later = tally(Count("first_contact", "4"))
    await store.adviser_step(AdviserStep(REF, "$b", replied=True, first_contact=later), 300.0)
    assert [(r.value, r.count) for r in await store.statistics([2026], None)] == [("1", 1)]


async def test_a_registration_keeps_its_answers_sealed_until_it_ends_as_counts(
    store: SqliteStore, tmp_path: Path
):
    await opened_case(store)
    key = f"case:{REF}"
    state = {"source": "case", "asked": 0, "answers": {"kind": ["Canary-c0ffee"]}}
    start = Registration(key, "adviser-a", REF, state)
    close = AdviserStep(REF, "$close", replied=True, close=True, registration=start)
    assert await store.adviser_step(close, 200.0)
    assert (await store.registration(key)) == start
    for path in tmp_path.iterdir():
        assert b"Canary-c0ffee" not in path.read_bytes(), path.name

    moved = {**state, "asked": 1}
    assert await store.registration_step(key, "$r1", moved, None, 210.0)
    assert not await store.registration_step(key, "$r1", state, None, 211.0)  # replayed
    assert (await store.registration(key)).state == moved  # type: ignore[union-attr]
    assert not await store.case_registered(REF)

    counted = tally(Count("kind", "klacht"))
    assert await store.registration_step(key, "$r2", None, counted, 220.0)
    assert await store.registration(key) is None
    assert await store.case_registered(REF)
    assert [r.value for r in await store.statistics([2026], None)] == ["klacht"]
    assert not await store.registration_step(key, "$r3", None, counted, 230.0)  # gone


async def test_counts_survive_the_purge_of_their_case_and_a_registration_goes_with_it(
    store: SqliteStore,
):
    await opened_case(store, counted=tally(Count("contact", "bot")))
    await store.mark_delivered(1, Receipt("$root", "!room"), 150.0)
    start = Registration(f"case:{REF}", "adviser-a", REF, {"source": "case"})
    await store.adviser_step(AdviserStep(REF, "$c", close=True, registration=start), 200.0)
    await store.purge_lines(1e9, 0.0, 1e9, 1e9, 0.0)
    assert await store.case(REF) is None
    assert await store.registration(f"case:{REF}") is None
    assert [r.count for r in await store.statistics([2026], None)] == [1]


async def test_an_unfinished_registration_outside_the_bot_goes_after_its_term(store: SqliteStore):
    outside = Registration("room:$reg", "adviser-a", None, {"source": "outside"})
    assert await store.start_registration(outside, "$reg", 100.0)
    assert await store.purge_registrations(50.0) == 0
    assert await store.registration("room:$reg") is not None
    assert await store.purge_registrations(101.0) == 1
    assert await store.registration("room:$reg") is None
    assert await store.statistics([2026], None) == []
