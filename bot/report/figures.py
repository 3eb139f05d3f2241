"""The annual report's figures, from the counts: tables with this year and the last,
small counts hidden over the whole report at once. Pure: no I/O; every renderer shows
these same figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.config import Config
from bot.report.cells import (
    ALL,
    BOT,
    CONTACTS,
    OUTSIDE,
    RECEIPT_LATER,
    RECEIPT_WITHIN,
    REGISTERED,
    WAITING,
    WHISTLEBLOWER,
    Hiding,
    Name,
    TableShape,
    counts,
    folded,
    solve,
)
from bot.report.hiding import ABSENT, COMPLEMENT, SMALL, Cell, cell
from bot.report.periods import FIRST_CONTACT_BUCKETS
from bot.report.register import CHOICES, NOT_ANSWERED
from bot.store.stat_records import StatRow
from bot.texts.catalog import Texts


def plural_key(base: str, count: int) -> str:
    """Until the texts have plural forms of their own: a key for one, and one for more."""
    return f"{base}_one" if count == 1 else f"{base}_other"


_BOT_CHANNELS = ("telegram", "matrix", "web", "terminal")
_ACTIVITY_KINDS = ("information", "training", "other")  # preventive work
_OWN_WORK_KINDS = ("intervision", "course", "management", "works_council")


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
    hidden: tuple[str, ...]  # the appendix: how small numbers are hidden, in a few lines
    folded: bool
    has_previous: bool = True
    notes: tuple[str, ...] = field(default=())  # said under the title (no previous year)
    summary: tuple[str, ...] = field(default=())  # the first page (bot/report/summary.py)
    advice: str | None = None  # the adviser's own observations and advice
    headcount: int = 0  # the organisation's, for contacts per 100 employees
    own_work: tuple[Activity, ...] = field(default=())  # intervision, training, meetings

    @property
    def previous(self) -> int:
        return self.year - 1

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)


@dataclass(frozen=True)
class _Spec:
    shape: TableShape
    label_key: str
    note: str = ""


def _specs(rows: Sequence[StatRow], years: Sequence[int], config: Config, t: Texts) -> list[_Spec]:
    seen: dict[str, set[str]] = {}
    for row in rows:
        if row.year in years and row.count:
            seen.setdefault(row.dimension, set()).add(row.value)

    def values(dimension: str, known: Sequence[str], keep_all: bool = True) -> tuple[Name, ...]:
        found = seen.get(dimension, set())
        listed = [v for v in known if keep_all or v in found]
        extra = sorted(found - set(listed) - {NOT_ANSWERED})
        tail = [NOT_ANSWERED] if NOT_ANSWERED in found else []
        return tuple((dimension, v) for v in [*listed, *extra, *tail])

    def spec(table_id: str, rows: tuple[Name, ...], total: Name, key: str, note: str = "") -> _Spec:
        return _Spec(TableShape(table_id, rows, total), key, note)

    several, topics = t("report.note_several"), config.intake.topics
    buckets = tuple(("first_contact", b) for b in FIRST_CONTACT_BUCKETS)
    waiting = (("first_contact", WAITING),)
    return [
        spec("contacts", (BOT, OUTSIDE), CONTACTS, "report_value"),
        spec("quarters", tuple(("quarter", str(q)) for q in (1, 2, 3, 4)), CONTACTS, ""),
        spec("topic", values("topic", topics), CONTACTS, "topic", several),
        spec("channel", values("channel", _BOT_CHANNELS, False), BOT, "report_value"),
        spec(
            "outside_channel",
            values("outside_channel", CHOICES["channel"]),
            OUTSIDE,
            "register_choice",
        ),
        spec("urgent", values("urgent", ("yes", "no")), BOT, "report_urgent"),
        spec(
            "kind",
            values("kind", CHOICES["kind"]),
            REGISTERED,
            "register_choice",
            t("report.note_kind"),
        ),
        spec("route", values("route", CHOICES["routes"]), REGISTERED, "register_choice", several),
        spec("source", values("source", CHOICES["source"]), REGISTERED, "register_choice"),
        spec(
            "registered_topic",
            values("registered_topic", topics),
            REGISTERED,
            "topic",
            several,
        ),
        spec("repeated", values("repeated", CHOICES["repeated"]), REGISTERED, "register_choice"),
        spec("first_contact", buckets + waiting, BOT, ""),
        spec(
            "promise",
            (("promise", "within"), ("promise", "later"), ("promise", WAITING)),
            BOT,
            "",
        ),
        spec(
            "whistleblower",
            (RECEIPT_WITHIN, RECEIPT_LATER, ("whistleblower", WAITING)),
            WHISTLEBLOWER,
            "",
            t("report.note_whistleblower"),
        ),
    ]


def hiding_of(rows: Sequence[StatRow], years: Sequence[int], config: Config, t: Texts) -> Hiding:
    """The hiding every report of these years shares, for each adviser and for all."""
    specs = _specs(rows, years, config, t)
    promise = config.organisation.contact_within_working_days
    shapes_of = {}
    for year in years:
        everyone = counts(rows, ALL, year, promise)
        shapes_of[year] = [
            s.shape
            for s in specs
            if s.shape.id != "quarters" or not folded(everyone, config.report.min_count)
        ]
    published = [a.id for a in config.advisers]
    return solve(rows, years, shapes_of, published, config.report.min_count, promise)


def build_report(
    rows: Sequence[StatRow],
    year: int,
    config: Config,
    t: Texts,
    scope: str,
    adviser_id: str | None = None,
    hiding: Hiding | None = None,
) -> Report:
    """One report: every adviser's counts (``adviser_id`` None) or one adviser's, hidden
    as every report of these years is. ``rows`` are all advisers' counts."""
    years = (year - 1, year)
    hiding = hiding or hiding_of(rows, years, config, t)
    min_count, promise = config.report.min_count, config.organisation.contact_within_working_days
    who = ALL if adviser_id is None else adviser_id
    this = counts(rows, who, year, promise)
    last = counts(rows, who, year - 1, promise)
    has_previous = any(r.year == year - 1 for r in rows)
    is_folded = folded(this, min_count)

    def column(values: dict[Name, int], of: int, name: Name) -> Cell:
        if of != year and not has_previous:
            return Cell(0, ABSENT)
        if name[0] == "quarter" and folded(values, min_count):
            return Cell(values[name], ABSENT)
        if (who, of, name[0]) in hiding.withheld:
            return Cell(values[name], ABSENT)
        return cell(values[name], (who, of, *name) in hiding, min_count)

    def line(label: str, name: Name) -> Line:
        return Line(label, column(this, year, name), column(last, year - 1, name))

    tables = []
    for spec in _specs(rows, years, config, t):
        shape = spec.shape
        if shape.id == "quarters" and is_folded:
            continue
        lines = tuple(line(_label(spec, n, t, config), n) for n in shape.rows)
        table = Table(
            shape.id,
            t(f"report.title_{shape.id}"),
            spec.note,
            lines,
            line(t("report.total"), shape.total),
        )
        if shape.id == "promise":
            table = _with_share(table, t, promise)
        tables.append(table)

    def activities_of(kinds: Sequence[str]) -> tuple[Activity, ...]:
        return tuple(
            Activity(
                t(f"activity.kind_{kind}"),
                this[("activity", kind)],
                this[("participants", kind)],
                last[("activity", kind)],
                last[("participants", kind)],
            )
            for kind in kinds
            if this[("activity", kind)] or last[("activity", kind)]
        )

    title = t("report.title", year=year, organisation=config.organisation.name)
    hidden = _hiding_rules(tables, min_count, is_folded, year, t)
    notes = () if has_previous else (t("report.no_previous", previous=year - 1),)
    return Report(
        year,
        t.lang,
        title,
        scope,
        min_count,
        tuple(tables),
        activities_of(_ACTIVITY_KINDS),
        hidden,
        is_folded,
        has_previous,
        notes,
        headcount=config.organisation.headcount,
        own_work=activities_of(_OWN_WORK_KINDS),
    )


def _label(spec: _Spec, name: Name, t: Texts, config: Config) -> str:
    dimension, value = name
    if value == NOT_ANSWERED:
        return t("report.not_answered")
    if dimension == "whistleblower":
        days = config.aftercare.acknowledgement_days
        return t(f"report.whistleblower_{value}", days=days)
    if value == WAITING:
        return t("report.waiting")
    if dimension == "quarter":
        return t("report.quarter", quarter=value)
    if dimension == "first_contact":
        keys = {"0": "report.same_day", "1": "report.one_working_day"}
        return t(keys.get(value, "report.working_days"), days=value)
    if dimension == "promise":
        days = config.organisation.contact_within_working_days
        if value == "within":
            return t(plural_key("report.within", days), days=days)
        return t(f"report.{value}", days=days)
    key = f"{spec.label_key}.{value}"
    return t(key) if t.has(key) else value


def _with_share(table: Table, t: Texts, promise: int) -> Table:
    """On time, out of every request through the bot: one not yet answered counts too."""
    within = table.lines[0].this
    total = table.total.this
    if not (within.shown and total.shown and total.count):
        return table
    percent = round(100 * within.count / total.count)
    share = t(plural_key("report.share", promise), percent=percent, days=promise)
    return Table(table.id, table.title, table.note, table.lines, table.total, share)


def _hiding_rules(
    tables: Sequence[Table], min_count: int, is_folded: bool, year: int, t: Texts
) -> tuple[str, ...]:
    """A few plain sentences: how hiding works, and how much of it this report needed."""
    found = {SMALL: 0, COMPLEMENT: 0}
    for table in tables:
        for line in (*table.lines, table.total):
            for c in (line.this, line.last):
                if c.hidden in found:
                    found[c.hidden] += 1
    lines = [t("report.hiding_small", min=min_count), t("report.hiding_complement")]
    if found[SMALL] or found[COMPLEMENT]:
        lines.append(
            t(
                "report.hiding_counted",
                min=min_count,
                small=found[SMALL],
                complement=found[COMPLEMENT],
            )
        )
    else:
        lines.append(t("report.hidden_none", min=min_count))
    if is_folded:
        lines.append(t("report.folded", year=year, most=4 * min_count))
    return tuple(lines)
