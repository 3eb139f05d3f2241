"""Versioned rows: a save on rows that moved on since they were read writes nothing.

Two stores on one file stand for two processes (two windows, a second device).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.keys.crypto import FieldCipher, KeyMaterial, UserKey, new_key_material
from bot.runtime import Runtime
from bot.sinks.base import Receipt
from bot.store import ConversationRecord, NewHandoff, SqliteStore
from bot.store.base import VersionConflict
from bot.store.line_records import (
    TO_ADVISER,
    AdviserStep,
    CaseContact,
    LineStep,
    NewCase,
    RelayNote,
)
from bot.texts.catalog import Texts
from tests.test_line import Employee, sent_case

ALICE = UserKey(b"a" * 32)


def record(state: str, words: str = "") -> ConversationRecord:
    return ConversationRecord(state, "en", {"answers": {"description": words}})


def with_case(case_ref: str) -> NewHandoff:
    case = NewCase("terminal", CaseContact("alice", "en", None), whistleblower=False)
    return NewHandoff(case_ref, "adviser-a", {"answers": {}}, case)


@pytest.fixture
def keys() -> KeyMaterial:
    return new_key_material()


@pytest.fixture
async def two(tmp_path: Path, keys: KeyMaterial) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    path = tmp_path / "store.sqlite3"
    first = await SqliteStore.open(path, FieldCipher(keys), "handoff-synced")
    second = await SqliteStore.open(path, FieldCipher(keys), "handoff-synced")
    yield first, second
    await first.close()
    await second.close()


async def test_the_second_save_on_the_same_version_loses_and_writes_nothing(two):
    first, second = two
    await first.save_step(ALICE, record("review"), None, 100.0, base=await first.load_step(ALICE))
    seen_first = await first.load_step(ALICE)
    seen_second = await second.load_step(ALICE)
    assert seen_first == seen_second and seen_first.version == 1

    handoff = with_case("ACDE-FGHJ")
    await first.save_step(ALICE, record("menu"), handoff, 101.0, base=seen_first)
    with pytest.raises(VersionConflict):
        await second.save_step(
            ALICE, record("menu"), with_case("KMNP-QRST"), 101.0, base=seen_second
        )

    # Read again, the loser sees the winner's step: one request, one open line.
    fresh = await second.load_step(ALICE)
    assert fresh.record == record("menu") and fresh.version == 2
    assert fresh.line is not None and fresh.line.case_ref == "ACDE-FGHJ"
    assert await second.pending_count() == 1


async def test_two_first_messages_at_once_make_one_conversation(two):
    first, second = two
    empty_first, empty_second = await first.load_step(ALICE), await second.load_step(ALICE)
    assert empty_first.record is None and empty_first.version == 0
    await first.save_step(ALICE, record("menu", "one"), None, 100.0, base=empty_first)
    with pytest.raises(VersionConflict):
        await second.save_step(ALICE, record("menu", "two"), None, 100.0, base=empty_second)
    assert (await second.load_step(ALICE)).record == record("menu", "one")


async def test_a_cached_row_changed_by_another_process_loses_at_the_save_and_is_read_again(two):
    first, second = two
    await first.save_step(ALICE, record("name"), None, 100.0, base=await first.load_step(ALICE))
    stale = await first.load_step(ALICE)  # from first's cache from now on
    await second.save_step(
        ALICE, record("email", "b"), None, 101.0, base=await second.load_step(ALICE)
    )

    assert (await first.load_step(ALICE)) == stale  # the cache does not know yet ...
    with pytest.raises(VersionConflict):
        await first.save_step(ALICE, record("email", "a"), None, 102.0, base=stale)
    assert (await first.load_step(ALICE)).record == record("email", "b")  # ... and then does


async def test_a_line_closed_by_the_adviser_makes_the_employees_step_on_it_lose(two):
    employee, adviser = two
    await employee.save_step(
        ALICE, record("menu"), with_case("ACDE-FGHJ"), 100.0, base=await employee.load_step(ALICE)
    )
    await employee.mark_delivered(1, Receipt("$root", "!room"), 100.5)
    seen = await employee.load_step(ALICE)
    assert seen.line is not None

    info = await adviser.case("ACDE-FGHJ")
    assert info is not None
    closing = AdviserStep(
        "ACDE-FGHJ", "$close", replied=True, close=True, case_version=info.version
    )
    assert await adviser.adviser_step(closing, 101.0) is True

    message = LineStep("ACDE-FGHJ", (RelayNote(TO_ADVISER, "message", text="hello"),))
    with pytest.raises(VersionConflict):
        await employee.save_step(ALICE, record("menu"), None, 102.0, message, base=seen)
    # A step that only answers the person loses too: its reply spoke of an open line.
    with pytest.raises(VersionConflict):
        await employee.save_step(ALICE, record("menu"), None, 102.0, base=seen)
    fresh = await employee.load_step(ALICE)
    assert fresh.line is None and fresh.record == record("menu")
    assert (await employee.line_counts())[1] == 0  # the message was not queued


async def test_an_adviser_step_decided_on_a_case_that_moved_on_loses(two):
    employee, adviser = two
    await employee.save_step(
        ALICE, record("menu"), with_case("ACDE-FGHJ"), 100.0, base=await employee.load_step(ALICE)
    )
    read = await adviser.case("ACDE-FGHJ")
    assert read is not None
    seen = await employee.load_step(ALICE)
    stop = LineStep("ACDE-FGHJ", (RelayNote(TO_ADVISER, "stopped"),), close_as="stopped")
    await employee.save_step(ALICE, record("menu"), None, 101.0, stop, base=seen)

    note = RelayNote("to_employee", "message", text="are you there?")
    step = AdviserStep("ACDE-FGHJ", "$e1", notes=(note,), replied=True, case_version=read.version)
    with pytest.raises(VersionConflict):
        await adviser.adviser_step(step, 102.0)
    fresh = await adviser.case("ACDE-FGHJ")
    assert fresh is not None and fresh.status == "stopped" and fresh.version > read.version
    # The event was not used up by the lost try: decided again, it acts (here: not at all).
    again = AdviserStep("ACDE-FGHJ", "$e1", notes=(note,), replied=True, case_version=fresh.version)
    assert await adviser.adviser_step(again, 102.0) is False


async def test_the_adviser_writing_on_a_case_the_employee_just_stopped_is_told_it_ended(
    runtime: Runtime, nl: Texts
):
    employee = Employee(runtime, "alice")
    employee.listen()
    case_ref = await sent_case(employee)
    read_by_adviser = await runtime.store.case(case_ref)  # the adviser's view, then ...
    await employee.say("/stop")  # ... the employee ends the line before the adviser's save
    await employee.pick("yes")  # (asked first)
    adviser = runtime.config.adviser("adviser-a")
    answer = await runtime.desk.in_thread(read_by_adviser, adviser, "$late", "Still there?")
    status = nl("desk.status_stopped")
    assert answer.text == nl("desk.case_ended", case_ref=case_ref, status=status)
    await runtime.relay.deliver_due()
    assert all("Still there?" not in reply.text for reply in employee.relayed)
