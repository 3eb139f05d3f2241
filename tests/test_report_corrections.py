"""An activity entered by mistake is taken back, all or nothing, with an audit line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.report.periods import quarter_of
from bot.report.service import annual_report
from bot.runtime import Runtime
from bot.store import SqliteStore
from bot.store.sealed_fields import SEALED_COLUMNS
from bot.store.stat_records import Count, StatRow, Tally
from tests.conftest import Person, run_cli
from tests.test_report_cli import config_file


def training(participants: int, quarter: int = 1) -> Tally:
    counts = (Count("activity", "training"), Count("participants", "training", participants))
    return Tally(2026, quarter, "adviser-a", counts)


async def test_withdrawn_counts_go_all_or_nothing_and_leave_an_audit_line(store: SqliteStore):
    await store.add_counts(training(50), None, 1.0)
    await store.add_counts(training(50), None, 2.0)  # entered twice
    # More participants than were counted in one entry: refused, nothing changes.
    assert not await store.withdraw_counts(training(101), "activity", None, 3.0)
    assert await store.withdraw_counts(training(50), "activity", "$undo-1", 4.0)
    assert not await store.withdraw_counts(training(50), "activity", "$undo-1", 5.0)  # replayed
    assert await store.statistics([2026], None) == [
        StatRow(2026, 1, "adviser-a", "activity", "training", 1),
        StatRow(2026, 1, "adviser-a", "participants", "training", 50),
    ]
    assert not await store.withdraw_counts(training(50, quarter=2), "activity", None, 6.0)
    assert await store.withdraw_counts(training(50), "activity", None, 7.0)
    assert await store.statistics([2026], None) == []
    assert not await store.withdraw_counts(training(50), "activity", None, 8.0)  # nothing left
    assert await store.count_corrections() == [
        (4.0, "adviser-a", 2026, 1, "activity"),
        (7.0, "adviser-a", 2026, 1, "activity"),
    ]


async def test_the_adviser_takes_back_a_training_entered_twice_in_the_room(runtime, nl):
    room = runtime.config.adviser("adviser-a")
    await runtime.desk.in_room(room, "$a1", "!activity 2026-03-12 50 training")
    await runtime.desk.in_room(room, "$a2", "!activity 12-03-2026 50 training")
    # No information session was counted in that quarter: nothing to take back.
    wrong = await runtime.desk.in_room(room, "$w1", "!activity intrekken 2026-03-12 50")
    assert wrong.text == nl(
        "activity.not_there", kind="Voorlichting", participants=50, quarter="2026 Q1"
    )
    done = await runtime.desk.in_room(room, "$w2", "!activity intrekken 2026-03-12 50 training")
    assert done.text == nl(
        "activity.withdrawn", kind="Training", participants=50, quarter="2026 Q1"
    )
    rows = await runtime.store.statistics([2026], None)
    assert {(r.dimension, r.count) for r in rows} == {("activity", 1), ("participants", 50)}
    assert [c[4] for c in await runtime.store.count_corrections()] == ["activity"]


def test_the_terminal_takes_an_activity_back(tmp_path: Path):
    config = config_file(tmp_path)
    run_cli(["chat", "--config", config, "--jsonl", "--user", "x"], stdin='{"text": "hi"}\n')
    run_cli(["report", "activity", "--config", config, "2025-03-12", "30", "training"])
    back = ["report", "activity", "--config", config, "--withdraw", "2025-03-12", "30", "training"]
    done = run_cli(back)
    assert done.returncode == 0 and "Uit het jaarverslag gehaald" in done.stdout
    again = run_cli(back)
    assert again.returncode == 1 and "Niets teruggenomen" in again.stderr
    md = run_cli(["report", "--config", config, "--year", "2025", "--format", "md"]).stdout
    assert "| Training |" not in md


async def test_a_case_registered_by_mistake_is_withdrawn_and_registered_again(
    runtime: Runtime, nl, en
):
    person = Person(runtime, "hanna")
    await person.full_intake()
    await runtime.worker.deliver_due()
    [case] = await runtime.store.cases_of_adviser("adviser-a")
    adviser = runtime.config.adviser("adviser-a")
    year = datetime.fromtimestamp(case.created_at).year

    async def write(text: str, event_id: str) -> str | None:
        info = await runtime.store.case(case.case_ref)
        return (await runtime.desk.in_thread(info, adviser, event_id, text)).text

    async def counted() -> dict[tuple[str, str], int]:
        rows = await runtime.store.statistics([year], "adviser-a")
        return {(r.dimension, r.value): r.count for r in rows}

    await write("!close", "$close")
    before = await counted()  # closing counted the first contact; nothing registered yet
    # Nothing registered yet (the questions are still being asked): nothing to take back.
    refused = await write("!registratie intrekken", "$early")
    assert refused == nl("register.nothing_to_withdraw", case_ref=case.case_ref)
    for number, text in enumerate(("melding", "-", "-", "discriminatie", "nee")):
        said = await write(text, f"$r{number}")
    assert said == nl("register.done_case")
    registered = await counted()
    assert registered[("registered_topic", "discrimination")] == 1
    assert registered[("kind", "melding")] == 1
    # What it counted is kept with the case, sealed (and in the key rotation's list).
    [(sealed,)] = await runtime.store._db.execute_fetchall("SELECT sealed FROM registered_counts")
    assert b"discrimination" not in sealed and b"melding" not in sealed
    assert "registered_counts" in {column.table for column in SEALED_COLUMNS}

    withdrawn = await write("!registratie intrekken", "$undo")
    assert withdrawn is not None
    assert withdrawn.startswith(nl("register.withdrawn", case_ref=case.case_ref))
    assert "Vraag 1 van 5" in withdrawn  # the registration is asked again
    assert await counted() == before
    [line] = await runtime.store.count_corrections()
    quarter = quarter_of(case.created_at, runtime.config)[1]
    assert line[1:] == ("adviser-a", year, quarter, "registration")
    # Replayed, the same event takes nothing back twice.
    assert await write("!registratie intrekken", "$undo") == nl(
        "register.nothing_to_withdraw", case_ref=case.case_ref
    )

    for number, text in enumerate(("melding", "-", "-", "pesten", "nee")):
        said = await write(text, f"$again{number}")
    assert said == nl("register.done_case")
    again = await counted()
    assert again[("registered_topic", "bullying")] == 1
    assert ("registered_topic", "discrimination") not in again
    settled = datetime(year + 1, 2, 1).timestamp()
    report = await annual_report(runtime.store, runtime.config, en, year, None, settled)
    topics = {line.label: line.this.count for line in report.table("registered_topic").lines}
    assert topics[en("topic.bullying")] == 1 and topics[en("topic.discrimination")] == 0
    assert len(await runtime.store.count_corrections()) == 1

    # A registration from before its counts were kept is refused as such, nothing changed.
    async with runtime.store._transaction() as db:
        await db.execute("DELETE FROM registered_counts")
    assert await write("!register withdraw", "$old") == nl(
        "register.withdraw_not_kept", case_ref=case.case_ref
    )
    assert await counted() == again
