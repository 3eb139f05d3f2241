"""A year that has not ended: a report covers only the quarters that ended (and
settled) a while ago, so that two reports a day apart never tell one request apart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.report.periods import covered_quarters
from bot.report.render import csv_text
from bot.report.service import annual_report
from bot.store import SqliteStore
from bot.store.stat_records import Count, Tally
from bot.texts.catalog import Texts

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def on(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=AMSTERDAM).timestamp()


def request(quarter: int, topic: str, channel: str = "web", urgent: str = "no") -> Tally:
    counts = (
        Count("contact", "bot"),
        Count("channel", channel),
        Count("urgent", urgent),
        Count("topic", topic),
    )
    return Tally(2026, quarter, "adviser-a", counts)


def test_the_quarters_covered_are_those_that_ended_at_least_the_settle_days_ago(config: Config):
    assert config.report.settle_days == 14
    assert covered_quarters(2026, on("2026-04-14"), config) == ()
    assert covered_quarters(2026, on("2026-04-15"), config) == (1,)
    assert covered_quarters(2026, on("2026-12-03"), config) == (1, 2, 3)
    assert covered_quarters(2026, on("2027-01-14"), config) == (1, 2, 3)
    assert covered_quarters(2026, on("2027-01-15"), config) == (1, 2, 3, 4)
    assert covered_quarters(2025, on("2026-12-03"), config) == (1, 2, 3, 4)


async def test_two_reports_a_day_apart_with_a_request_between_are_the_same(
    store: SqliteStore, config: Config, en: Texts
):
    for index in range(30):
        await store.add_counts(request(1 + index % 3, "bullying"), None, 1.0)
    first = await annual_report(store, config, en, 2026, None, on("2026-12-02"))
    # One urgent request about discrimination on the web chat, the next morning.
    await store.add_counts(request(4, "discrimination", urgent="yes"), None, 2.0)
    second = await annual_report(store, config, en, 2026, None, on("2026-12-03"))
    assert csv_text(first, en) == csv_text(second, en)
    assert first.table("contacts").total.this.count == 30
    assert en("report.covers_part_other", year=2026, last=3, days=14) in first.notes
    # The request is counted: once the year is over and settled, it is there.
    whole = await annual_report(store, config, en, 2026, None, on("2027-01-20"))
    assert whole.table("contacts").total.this.count == 31
    assert not any("has not ended" in note for note in whole.notes)


async def test_a_part_year_is_not_set_beside_part_of_the_year_before(
    store: SqliteStore, config: Config, en: Texts
):
    # The previous year's whole report and a part of it would differ by exactly the
    # quarters left out: a report of part of a year shows no year before.
    for quarter in (1, 2, 3, 4):
        for _ in range(6):
            await store.add_counts(
                Tally(2025, quarter, "adviser-a", (Count("contact", "bot"),)), None, 1.0
            )
            await store.add_counts(request(quarter, "bullying"), None, 1.0)
    part = await annual_report(store, config, en, 2026, None, on("2026-07-20"))
    assert part.table("contacts").total.this.count == 12
    assert part.table("contacts").total.last.shown is False
    assert part.notes == (en("report.covers_part_other", year=2026, last=2, days=14),)


def test_the_note_of_a_part_year_says_which_quarters(config: Config, en: Texts, nl: Texts):
    note = en("report.covers_part_other", year=2026, last=3, days=14)
    assert "2026" in note and "quarter 1 to 3" in note and "14 days" in note
    assert "kwartaal 1 tot en met 3" in nl("report.covers_part_other", year=2026, last=3, days=14)
