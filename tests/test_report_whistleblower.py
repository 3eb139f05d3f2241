"""Whistleblower reports in the annual report: how many were made, and whether their
receipt was confirmed within the 7 days, later, or not yet; counted from `!melding` and
`!ontvangst` in the case thread, each once per case, hidden like every other count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.report.service import annual_report, rendered
from bot.runtime import Runtime, open_runtime
from bot.store.stat_records import StatRow
from bot.texts.catalog import Texts
from tests.conftest import FakeClock, make_config
from tests.test_line import Employee, adviser_writes, sent_case

AFTER_THE_YEAR = datetime(2027, 2, 1, tzinfo=UTC).timestamp()


def whistleblower_rows(rows: list[StatRow]) -> dict[str, int]:
    return {r.value: r.count for r in rows if r.dimension == "whistleblower"}


async def three_reports(runtime: Runtime) -> None:
    on_time = await sent_case(Employee(runtime, "ann"), topic="integrity")
    await adviser_writes(runtime, on_time, "!melding 2026-09-14", "$a1")
    await adviser_writes(runtime, on_time, "!melding 2026-09-15", "$a2")  # a date put right
    await adviser_writes(runtime, on_time, "!ontvangst 2026-09-18", "$a3")
    await adviser_writes(runtime, on_time, "!ontvangst 2026-09-17", "$a4")  # put right too
    late = await sent_case(Employee(runtime, "bob"), topic="integrity")
    await adviser_writes(runtime, late, "!melding 2026-09-01", "$b1")
    await adviser_writes(runtime, late, "!ontvangst 2026-09-15", "$b2")
    waiting = await sent_case(Employee(runtime, "cas"), topic="integrity")
    await adviser_writes(runtime, waiting, "!melding 2026-09-21", "$c1")
    # A receipt without a recorded report is no report of its own.
    talk = await sent_case(Employee(runtime, "dee"), topic="integrity")
    await adviser_writes(runtime, talk, "!ontvangst 2026-09-21", "$d1")


async def test_reports_and_their_receipt_are_counted_once_per_case(tmp_path: Path, en: Texts):
    config = make_config(tmp_path, "[report]\nmin_count = 1\n")
    async with open_runtime(config, FakeClock()) as runtime:
        await three_reports(runtime)
        rows = await runtime.store.statistics([2026], None)
        assert whistleblower_rows(list(rows)) == {
            "reported": 3,
            "receipt_within": 1,
            "receipt_later": 1,
        }
        report = await annual_report(runtime.store, config, en, 2026, None, AFTER_THE_YEAR)
    table = report.table("whistleblower")
    assert [(line.label, line.this.count) for line in table.lines] == [
        ("Receipt confirmed within 7 days", 1),
        ("Receipt confirmed later", 1),
        ("Receipt not (yet) confirmed", 1),
    ]
    assert table.total.this.count == 3
    md = rendered(report, en, "md")
    assert "## Reports of suspected wrongdoing (Whistleblower Protection Act)" in md


async def test_few_reports_are_hidden_like_every_small_count(tmp_path: Path, en: Texts):
    config = make_config(tmp_path)
    async with open_runtime(config, FakeClock()) as runtime:
        await three_reports(runtime)
        report = await annual_report(runtime.store, config, en, 2026, None, AFTER_THE_YEAR)
    table = report.table("whistleblower")
    cells = [line.this for line in (*table.lines, table.total)]
    assert all(not c.shown for c in cells)
    md = rendered(report, en, "md")
    section = md.split("## Reports of suspected wrongdoing")[1].split("## ")[0]
    assert "| 1 |" not in section and "| 3 |" not in section
