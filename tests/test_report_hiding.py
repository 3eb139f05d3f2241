"""Small counts hidden: each rule, checked against a reader who tries every value that
fits what the report shows, and against a naive report that only hides small cells."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.config import Config
from bot.report.figures import build_report
from bot.report.hiding import COMPLEMENT, SHOWN, SMALL, Cell, hide_column
from bot.store.stat_records import StatRow
from bot.texts.catalog import Texts

MIN = 5


def possible_values(cells: Sequence[Cell], total: int) -> list[set[int]]:
    """Per cell, every value a reader finds consistent with the report: the shown
    counts, "< 5" for 1 to 4, "hidden" for 5 or more, and the total."""
    ranges = []
    for cell in cells:
        if cell.hidden == SHOWN:
            ranges.append(range(cell.count, cell.count + 1))
        elif cell.hidden == SMALL:
            ranges.append(range(1, MIN))
        else:
            ranges.append(range(MIN, total + 1))
    found: list[set[int]] = [set() for _ in cells]
    for values in itertools.product(*ranges):
        if sum(values) == total:
            for index, value in enumerate(values):
                found[index].add(value)
    return found


def worked_out(cells: Sequence[Cell], total: int) -> list[int]:
    """The hidden cells whose value the reader can be sure of."""
    options = possible_values(cells, total)
    return [i for i, cell in enumerate(cells) if not cell.shown and len(options[i]) == 1]


def test_a_small_count_shows_as_below_the_minimum_and_a_zero_is_shown():
    cells, total = hide_column([12, 3, 4, 0], 19, MIN)
    assert [c.hidden for c in cells] == [SHOWN, SMALL, SMALL, SHOWN]
    assert total.shown


def test_where_a_naive_report_lets_a_hidden_count_be_worked_out_this_one_hides_more():
    counts, total = [22, 3], 25  # not urgent, urgent
    naive = [Cell(c, SMALL if 0 < c < MIN else SHOWN) for c in counts]
    assert worked_out(naive, total) == [1]  # 25 - 22: the three urgent ones
    cells, _ = hide_column(counts, total, MIN)
    assert [c.hidden for c in cells] == [COMPLEMENT, SMALL]
    assert worked_out(cells, total) == []


def test_two_small_counts_that_leave_no_doubt_get_a_third_cell_hidden():
    # 1 and 1 hidden in a column of 12: a reader who knows "< 5" is at least 1 and the
    # rest is shown would know both. Hiding the 5 as well leaves doubt.
    naive = [Cell(10), Cell(1, SMALL), Cell(1, SMALL)]
    assert worked_out(naive, 12) == [1, 2]
    cells, _ = hide_column([10, 1, 1], 12, MIN)
    assert [c.hidden for c in cells] == [COMPLEMENT, SMALL, SMALL]
    assert worked_out(cells, 12) == []


def test_no_column_ever_gives_a_hidden_count_away():
    checked = 0
    for size, values in ((2, range(0, 14)), (3, range(0, 10)), (4, (0, 1, 2, 3, 5, 7))):
        for counts in itertools.product(values, repeat=size):
            total = sum(counts)
            cells, total_cell = hide_column(counts, total, MIN)
            if not total_cell.shown:
                continue  # the column's total is hidden too: nothing to subtract from
            assert worked_out(cells, total) == [], counts
            checked += 1
    assert checked > 1000


def test_a_total_below_the_minimum_hides_its_column():
    cells, total = hide_column([3, 1], 4, MIN)
    assert total.hidden == SMALL and all(not c.shown for c in cells)


def rows(year: int, quarter: int, **counts: int) -> list[StatRow]:
    return [
        StatRow(year, quarter, "adviser-a", *key.split("__"), count)
        for key, count in counts.items()
    ]


def test_quarters_fold_into_the_year_when_the_year_has_few_contacts(config: Config, en: Texts):
    few = rows(2026, 1, contact__bot=9) + rows(2026, 3, contact__bot=10)
    report = build_report(few, 2026, config, en, "")
    assert "quarters" not in [t.id for t in report.tables]
    assert en("report.folded", year=2026, most=20) in report.hidden
    enough = few + rows(2026, 4, contact__bot=1)
    report = build_report(enough, 2026, config, en, "")
    quarters = report.table("quarters")
    assert [line.this.count for line in quarters.lines] == [9, 0, 10, 1]
    # 20 - 9 - 10 would give the last quarter away: the 9 is hidden too.
    assert [line.this.hidden for line in quarters.lines] == [COMPLEMENT, SHOWN, SHOWN, SMALL]


def test_the_promise_split_is_hidden_where_it_would_give_a_bucket_away(config: Config, en: Texts):
    # 10 the same day, 6 after one working day, 4 after two: "within 2 working days"
    # (20) minus the shown 10 and 6 would tell the hidden 4.
    counts = rows(
        2026, 2, first_contact__0=10, first_contact__1=6, first_contact__2=4, first_contact__3=5
    )
    report = build_report(counts, 2026, config, en, "")
    buckets = report.table("first_contact")
    assert [line.this.hidden for line in buckets.lines[:4]] == [SHOWN, SHOWN, SMALL, COMPLEMENT]
    within, later = report.table("promise").lines
    assert not within.this.shown and not later.this.shown
    assert report.table("promise").share is None
    assert config.organisation.contact_within_working_days == 2

    clear = rows(2026, 2, first_contact__0=10, first_contact__1=6, first_contact__3=5)
    split = build_report(clear, 2026, config, en, "").table("promise")
    assert [line.this.count for line in split.lines] == [16, 5]
    assert split.share == en("report.share", percent=76, days=2)


def test_the_change_is_shown_only_where_both_years_are(config: Config, en: Texts):
    counts = rows(2026, 1, contact__bot=30, urgent__yes=3, urgent__no=27) + rows(
        2025, 1, contact__bot=28, urgent__yes=6, urgent__no=22
    )
    urgent = build_report(counts, 2026, config, en, "").table("urgent")
    assert [line.change() for line in urgent.lines] == [None, None]
    assert urgent.total.change() == "+2"
    assert [line.last.count for line in urgent.lines] == [6, 22]
