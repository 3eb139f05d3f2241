"""The report's cells as one system: every count it shows, for every adviser and for all
together, each year, and the identities between them; which cells are hidden is
chosen over that whole system (bot/report/suppression.py). Pure: no I/O.

A cell is (scope, year, dimension, value): scope "" is every adviser together. A
table's total is itself a cell, often a row of another table: the channels' total is
the contacts "through the bot", so hiding one hides the other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.report.periods import FIRST_CONTACT_BUCKETS, bucket_upper_bound
from bot.report.suppression import Identity, Unprotectable, identity, suppress
from bot.store.stat_records import StatRow

ALL = ""  # the scope of every adviser together
TOTAL = "*"
WAITING = "waiting"  # requests without a first contact yet
Name = tuple[str, str]  # (dimension, value)
CellKey = tuple[str, int, str, str]  # (scope, year, dimension, value)

CONTACTS: Name = ("contact", TOTAL)
BOT: Name = ("contact", "bot")
OUTSIDE: Name = ("contact", "outside")
REGISTERED: Name = ("registered", TOTAL)
WHISTLEBLOWER: Name = ("whistleblower", "reported")
RECEIPT_WITHIN: Name = ("whistleblower", "receipt_within")
RECEIPT_LATER: Name = ("whistleblower", "receipt_later")
OVERLAPPING = frozenset({"topic", "route", "registered_topic"})  # several per case


@dataclass(frozen=True)
class TableShape:
    """One table: its rows and its total, as cell names."""

    id: str
    rows: tuple[Name, ...]
    total: Name


def counts(rows: Sequence[StatRow], scope: str, year: int, promise: int) -> dict[Name, int]:
    """Every cell of one scope and year, derived cells included."""
    values: dict[Name, int] = defaultdict(int)
    for row in rows:
        if row.year != year or (scope != ALL and row.adviser_id != scope):
            continue
        values[(row.dimension, row.value)] += row.count
        if row.dimension == "contact":
            values[CONTACTS] += row.count
            values[("quarter", str(row.quarter))] += row.count
        if row.dimension == "registered":
            values[REGISTERED] += row.count
    answered = sum(values[("first_contact", b)] for b in FIRST_CONTACT_BUCKETS)
    values[("first_contact", WAITING)] = max(values[BOT] - answered, 0)
    values[("promise", WAITING)] = values[("first_contact", WAITING)]
    confirmed = values[RECEIPT_WITHIN] + values[RECEIPT_LATER]
    values[("whistleblower", WAITING)] = max(values[WHISTLEBLOWER] - confirmed, 0)
    for bucket in FIRST_CONTACT_BUCKETS:
        side = "within" if bucket_upper_bound(bucket) <= promise else "later"
        values[("promise", side)] += values[("first_contact", bucket)]
    return values


def folded(values: dict[Name, int], min_count: int) -> bool:
    """Too few contacts for quarters of their own: the year is shown whole."""
    return values[CONTACTS] < 4 * min_count


def promise_sides(promise: int) -> dict[str, tuple[Name, ...]]:
    sides: dict[str, list[Name]] = {"within": [], "later": []}
    for bucket in FIRST_CONTACT_BUCKETS:
        side = "within" if bucket_upper_bound(bucket) <= promise else "later"
        sides[side].append(("first_contact", bucket))
    return {side: tuple(names) for side, names in sides.items()}


@dataclass(frozen=True)
class Hiding:
    """Which cells every report of these years hides, whatever scope is asked."""

    hidden: frozenset[CellKey]
    # Tables of one adviser's report left out: so few counts that, beside everyone's
    # report, no hiding could keep them uncertain.
    withheld: frozenset[tuple[str, int, str]] = frozenset()

    def __contains__(self, key: CellKey) -> bool:
        return key in self.hidden


def solve(
    rows: Sequence[StatRow],
    years: Sequence[int],
    shapes_of: Mapping[int, Sequence[TableShape]],
    published_scopes: Sequence[str],
    min_count: int,
    promise: int,
) -> Hiding:
    """Hide, year by year: first everyone's report on its own (so it is the same
    whichever adviser's report is made beside it), then every adviser's report
    together, with everyone's as it is."""
    scopes = sorted({r.adviser_id for r in rows} | set(published_scopes))
    hidden: set[CellKey] = set()
    withheld: set[tuple[str, int, str]] = set()
    for year in years:
        shapes = shapes_of[year]
        names = sorted({n for s in shapes for n in (*s.rows, s.total)})
        per_scope = {scope: counts(rows, scope, year, promise) for scope in [ALL, *scopes]}
        values = {(ALL, year, *n): per_scope[ALL][n] for n in names}
        own = _identities(values, shapes, ALL, year, promise)
        everyone = suppress(values, own, min_count)
        hidden |= everyone
        if not scopes or (len(scopes) == 1 and scopes[0] in published_scopes):
            # One adviser: their report is everyone's, hidden alike.
            hidden |= {(scopes[0], *k[1:]) for k in everyone} if scopes else set()
            continue
        joint: dict[CellKey, int] = dict(values)
        identities: list[Identity[CellKey]] = list(own)
        for scope in scopes:
            joint |= {(scope, year, *n): per_scope[scope][n] for n in names}
            identities += _identities(joint, shapes, scope, year, promise)
        for n in names:
            identities.append(identity(joint, [(s, year, *n) for s in scopes], (ALL, year, *n)))
        frozen = {k: k in everyone for k in values}
        left_out: set[str] = set()
        try:
            hidden |= suppress(
                joint,
                identities,
                min_count,
                frozen,
                _unpublished(joint, per_scope, published_scopes, min_count),
            )
        except Unprotectable:
            # So few counts that one adviser's tables beside everyone's would tell:
            # that year is left out of the advisers' own reports.
            left_out = {n[0] for n in names}
        withheld |= {(s, year, d) for s in scopes for d in left_out}
    return Hiding(frozenset(hidden), frozenset(withheld))


def _unpublished(
    joint: dict[CellKey, int],
    per_scope: dict[str, dict[Name, int]],
    published_scopes: Sequence[str],
    min_count: int,
) -> list[CellKey]:
    return [
        k
        for k in joint
        if k[0] not in (ALL, *published_scopes)
        or (k[2] == "quarter" and folded(per_scope[k[0]], min_count))
    ]


def _identities(
    values: dict[CellKey, int],
    shapes: Sequence[TableShape],
    scope: str,
    year: int,
    promise: int,
) -> list[Identity[CellKey]]:
    def key(name: Name) -> CellKey:
        return (scope, year, *name)

    found = [
        identity(values, [key(r) for r in s.rows], key(s.total), s.id in OVERLAPPING)
        for s in shapes
    ]
    if any(s.id == "promise" for s in shapes):
        for side, buckets in promise_sides(promise).items():
            found.append(identity(values, [key(b) for b in buckets], key(("promise", side))))
    return found
