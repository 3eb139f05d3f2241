"""The annual report's figures, from the counts: tables with this year and the last,
small counts hidden. Pure: no I/O; every renderer shows these same figures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import Config
from bot.report.hiding import COMPLEMENT, SMALL, Cell, hide_column, pinned
from bot.report.periods import FIRST_CONTACT_BUCKETS, bucket_upper_bound
from bot.report.register import CHOICES, NOT_ANSWERED
from bot.store.stat_records import StatRow
from bot.texts.catalog import Texts

_BOT_CHANNELS = ("telegram", "matrix", "web", "terminal")
_ACTIVITY_KINDS = ("information", "training", "other")


@dataclass(frozen=True)
class Line:
    label: str
    this: Cell
    last: Cell

    def change(self) -> str | None:
        """This year minus the last, when both are shown."""
        if not (self.this.shown and self.last.shown):
            return None
        difference = self.this.count - self.last.count
        return f"+{difference}" if difference > 0 else f"\u2212{-difference}" if difference else "0"


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    note: str
    lines: tuple[Line, ...]
    total: Line
    share: str | None = None  # a sentence beside the table (first contact)


@dataclass(frozen=True)
class Activity:
    label: str
    sessions: int
    participants: int
    last_sessions: int
    last_participants: int


@dataclass(frozen=True)
class Report:
    year: int
    lang: str
    title: str
    scope: str
    min_count: int
    tables: tuple[Table, ...]
    activities: tuple[Activity, ...]
    hidden: tuple[str, ...]  # one line per rule that hid something
    folded: bool

    @property
    def previous(self) -> int:
        return self.year - 1

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)


class _Year:
    """One year's counts, by dimension and value, and by quarter."""

    def __init__(self, rows: Sequence[StatRow], year: int) -> None:
        self.values: dict[tuple[str, str], int] = defaultdict(int)
        self.quarters: dict[int, int] = defaultdict(int)
        for row in rows:
            if row.year != year:
                continue
            self.values[(row.dimension, row.value)] += row.count
            if row.dimension == "contact":
                self.quarters[row.quarter] += row.count

    def get(self, dimension: str, value: str) -> int:
        return self.values.get((dimension, value), 0)

    def sum(self, dimension: str) -> int:
        return sum(n for (d, _), n in self.values.items() if d == dimension)

    def seen(self, dimension: str) -> set[str]:
        return {v for (d, v), n in self.values.items() if d == dimension and n}


class _Builder:
    def __init__(self, rows: Sequence[StatRow], year: int, config: Config, t: Texts) -> None:
        self.this, self.last = _Year(rows, year), _Year(rows, year - 1)
        self.config, self.t = config, t
        self.min_count = config.report.min_count

    def values(self, dimension: str, known: Sequence[str], keep_all: bool = True) -> list[str]:
        seen = self.this.seen(dimension) | self.last.seen(dimension)
        listed = [v for v in known if keep_all or v in seen]
        extra = sorted(seen - set(listed) - {NOT_ANSWERED})
        tail = [NOT_ANSWERED] if NOT_ANSWERED in seen else []
        return [*listed, *extra, *tail]

    def table(
        self,
        table_id: str,
        labels: Sequence[tuple[str, str]],
        this: Sequence[int],
        last: Sequence[int],
        totals: tuple[int, int],
        note: str = "",
    ) -> Table:
        """A table: its rows (value, label), each year's counts and totals, hidden as due."""
        this_cells, this_total = hide_column(this, totals[0], self.min_count)
        last_cells, last_total = hide_column(last, totals[1], self.min_count)
        lines = tuple(
            Line(label, a, b)
            for (_, label), a, b in zip(labels, this_cells, last_cells, strict=True)
        )
        total = Line(self.t("report.total"), this_total, last_total)
        return Table(table_id, self.t(f"report.title_{table_id}"), note, lines, total)

    def dimension(
        self,
        table_id: str,
        dimension: str,
        known: Sequence[str],
        base: tuple[int, int],
        label_key: str,
        note: str = "",
        keep_all: bool = True,
    ) -> Table:
        values = self.values(dimension, known, keep_all)
        labels = [(v, self.label(label_key, v)) for v in values]
        return self.table(
            table_id,
            labels,
            [self.this.get(dimension, v) for v in values],
            [self.last.get(dimension, v) for v in values],
            base,
            note,
        )

    def label(self, label_key: str, value: str) -> str:
        if value == NOT_ANSWERED:
            return self.t("report.not_answered")
        key = f"{label_key}.{value}"
        return self.t(key) if self.t.has(key) else value


def build_report(
    rows: Sequence[StatRow], year: int, config: Config, t: Texts, scope: str
) -> Report:
    b = _Builder(rows, year, config, t)
    this, last = b.this, b.last
    contacts = (this.sum("contact"), last.sum("contact"))
    bot = (this.get("contact", "bot"), last.get("contact", "bot"))
    outside = (this.get("contact", "outside"), last.get("contact", "outside"))
    registered = (this.sum("registered"), last.sum("registered"))
    several = t("report.note_several")
    tables = [
        b.dimension("contacts", "contact", ("bot", "outside"), contacts, "report_value"),
    ]
    folded = contacts[0] < 4 * b.min_count
    if not folded:
        quarters = [(str(q), t("report.quarter", quarter=q)) for q in (1, 2, 3, 4)]
        tables.append(
            b.table(
                "quarters",
                quarters,
                [this.quarters[q] for q in (1, 2, 3, 4)],
                [last.quarters[q] for q in (1, 2, 3, 4)],
                contacts,
            )
        )
    tables += [
        b.dimension("topic", "topic", config.intake.topics, contacts, "topic", several),
        b.dimension("channel", "channel", _BOT_CHANNELS, bot, "report_value", keep_all=False),
        b.dimension(
            "outside_channel", "outside_channel", CHOICES["channel"], outside, "register_choice"
        ),
        b.dimension("urgent", "urgent", ("yes", "no"), bot, "report_urgent"),
        b.dimension(
            "kind", "kind", CHOICES["kind"], registered, "register_choice", t("report.note_kind")
        ),
        b.dimension("route", "route", CHOICES["routes"], registered, "register_choice", several),
        b.dimension("source", "source", CHOICES["source"], registered, "register_choice"),
        b.dimension(
            "registered_topic",
            "registered_topic",
            config.intake.topics,
            registered,
            "topic",
            several,
        ),
        b.dimension("repeated", "repeated", CHOICES["repeated"], registered, "register_choice"),
        *_first_contact(b),
    ]
    activities = tuple(
        Activity(
            t(f"activity.kind_{kind}"),
            this.get("activity", kind),
            this.get("participants", kind),
            last.get("activity", kind),
            last.get("participants", kind),
        )
        for kind in _ACTIVITY_KINDS
        if this.get("activity", kind) or last.get("activity", kind)
    )
    title = t("report.title", year=year, organisation=config.organisation.name)
    hidden = _hidden_lines(tables, b.min_count, folded, year, t)
    return Report(
        year, t.lang, title, scope, b.min_count, tuple(tables), activities, hidden, folded
    )


def _first_contact(b: _Builder) -> list[Table]:
    t, promise = b.t, b.config.organisation.contact_within_working_days
    buckets = list(FIRST_CONTACT_BUCKETS)
    keys = {"0": "report.same_day", "1": "report.one_working_day"}
    labels = [(v, t(keys.get(v, "report.working_days"), days=v)) for v in buckets]
    this = [b.this.get("first_contact", v) for v in buckets]
    last = [b.last.get("first_contact", v) for v in buckets]
    totals = (sum(this), sum(last))
    table = b.table("first_contact", labels, this, last, totals)

    def within(counts: list[int]) -> list[int]:
        inside = sum(
            n for v, n in zip(buckets, counts, strict=True) if bucket_upper_bound(v) <= promise
        )
        return [inside, sum(counts) - inside]

    kept = [("within", t("report.within", days=promise)), ("later", t("report.later"))]
    split = b.table("promise", kept, within(this), within(last), totals)
    split = _unless_it_tells(split, table, buckets, promise, b.min_count)
    share = None
    first, later = split.lines
    if first.this.shown and later.this.shown and totals[0]:
        percent = round(100 * first.this.count / totals[0])
        share = t("report.share", percent=percent, days=promise)
    return [table, Table(**{**vars(split), "share": share})]


def _unless_it_tells(
    split: Table, buckets_table: Table, buckets: list[str], promise: int, min_count: int
) -> Table:
    """The split within / later adds up buckets on each side: where that sum would let
    a hidden bucket be worked out, the split of that year is hidden too."""

    def tells(column: str) -> bool:
        cells = [getattr(line, column) for line in buckets_table.lines]
        for inside in (True, False):
            side = [
                c
                for v, c in zip(buckets, cells, strict=True)
                if (bucket_upper_bound(v) <= promise) == inside
            ]
            if pinned([c.count for c in side], [c.hidden for c in side], min_count):
                return True
        return False

    hide = {column: tells(column) for column in ("this", "last")}

    def line(old: Line) -> Line:
        cells = {
            column: Cell(getattr(old, column).count, COMPLEMENT)
            if hide[column] and getattr(old, column).shown
            else getattr(old, column)
            for column in ("this", "last")
        }
        return Line(old.label, cells["this"], cells["last"])

    return Table(
        split.id, split.title, split.note, tuple(line(x) for x in split.lines), split.total
    )


def _hidden_lines(
    tables: Sequence[Table], min_count: int, folded: bool, year: int, t: Texts
) -> tuple[str, ...]:
    found: dict[str, list[str]] = {SMALL: [], COMPLEMENT: []}
    for table in tables:
        for line in (*table.lines, table.total):
            for cell, when in ((line.this, ""), (line.last, f" ({year - 1})")):
                if not cell.shown:
                    found[cell.hidden].append(f"{table.title}: {line.label}{when}")
    lines = []
    if found[SMALL]:
        lines.append(t("report.hidden_small", min=min_count, cells="; ".join(found[SMALL])))
    if found[COMPLEMENT]:
        lines.append(t("report.hidden_complement", cells="; ".join(found[COMPLEMENT])))
    if folded:
        lines.append(t("report.folded", year=year, most=4 * min_count))
    return tuple(lines) or (t("report.hidden_none", min=min_count),)
