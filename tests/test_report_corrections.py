"""An activity entered by mistake is taken back, all or nothing, with an audit line."""

from __future__ import annotations

from pathlib import Path

from bot.store import SqliteStore
from bot.store.stat_records import Count, StatRow, Tally
from tests.conftest import run_cli
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
