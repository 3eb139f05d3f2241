"""Cell suppression over a set of linked counts, as one system. Pure: no I/O.

The report is a set of cells (counts) tied by identities that any reader knows: a
table's rows add up to its total, one table's total is a row of another, this
adviser's count plus the others' is everyone's. Hiding is chosen over all of them at
once:

1. Primary: every count from 1 to below the minimum is hidden ("< 5"). A 0 is shown.
2. Secondary: while a reader who solves the identities as integer constraints (knowing
   that "< 5" is 0 to 4 and that any other hidden cell is at least the minimum) could
   still pin one hidden cell to a single value, one more cell is hidden: among the
   cells in an identity with it, the one that leaves the fewest cells pinned at a
   glance, then the smallest; only where no larger count is left, a 0 is shown as
   "< 5" (which is true of a 0). Whether a cell is pinned is decided by an integer
   program per group of linked hidden cells (its least and its greatest value).
3. Then every secondary cell is shown again, largest first, wherever that pins
   nothing: no hidden cell is left hidden that could be shown.

Cells that are not published (another adviser's counts, which a reader could work out
by subtracting one report from another) are unknowns too: a small one of them may not
be pinned either.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

Key = TypeVar("Key", bound=Hashable)
_UNBOUNDED = 10**7
_INFEASIBLE = 2  # scipy.optimize.milp's status for it


@dataclass(frozen=True)
class Identity(Generic[Key]):
    """The parts add up to the whole, plus ``extra`` (rows that overlap, such as several
    topics for one case): taken as known to a reader, which is the careful side."""

    parts: tuple[Key, ...]
    whole: Key
    extra: int = 0
    # Rows that may overlap (several topics for one case): a reader knows only that
    # they add up to at least the whole, and that none is more than the whole.
    overlap: bool = False


def identity(
    values: Mapping[Key, int], parts: Sequence[Key], whole: Key, overlap: bool = False
) -> Identity[Key]:
    """An identity whose extra is what the true counts give."""
    if overlap:
        # At least the whole, as far as the counts are complete (older counts may lack
        # a row): what is missing is taken as known.
        missing = min(sum(values[p] for p in parts) - values[whole], 0)
        return Identity(tuple(parts), whole, missing, True)
    return Identity(tuple(parts), whole, sum(values[p] for p in parts) - values[whole])


class Unprotectable(ValueError):
    """A cell stays pinned however many of the cells that may still change are hidden."""

    def __init__(self, cell: Key) -> None:
        super().__init__("a cell cannot be protected by hiding more")
        self.cell = cell


class _System(Generic[Key]):
    def __init__(
        self,
        values: Mapping[Key, int],
        identities: Sequence[Identity[Key]],
        min_count: int,
        unpublished: Collection[Key],
    ) -> None:
        self.values, self.identities, self.min = values, identities, min_count
        self.unpublished = frozenset(unpublished)
        self.touching: dict[Key, list[int]] = {}
        for index, ident in enumerate(identities):
            for key in (*ident.parts, ident.whole):
                self.touching.setdefault(key, []).append(index)
        self.cache: dict[frozenset[Key], frozenset[Key]] = {}

    def small(self, key: Key) -> bool:
        return 0 < self.values[key] < self.min

    def bounds(self, key: Key) -> tuple[int, int]:
        if key in self.unpublished:
            return 0, _UNBOUNDED
        # "< 5" says 0 to 4: a 0 may be hidden so too, where nothing else helps.
        return (0, self.min - 1) if self.values[key] < self.min else (self.min, _UNBOUNDED)

    def sensitive(self, key: Key) -> bool:
        return key not in self.unpublished or self.small(key)

    def groups(self, hidden: frozenset[Key]) -> list[frozenset[Key]]:
        """The unknown cells, in groups that share identities."""
        unknown = hidden | self.unpublished
        parent = {k: k for k in unknown}

        def root(k: Key) -> Key:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        for ident in self.identities:
            inside = [k for k in (*ident.parts, ident.whole) if k in unknown]
            for other in inside[1:]:
                parent[root(other)] = root(inside[0])
        found: dict[Key, set[Key]] = {}
        for k in unknown:
            found.setdefault(root(k), set()).add(k)
        return [frozenset(g) for g in found.values()]

    def pinned(self, hidden: frozenset[Key]) -> list[Key]:
        alone = self.alone(hidden)
        if alone:
            return sorted(alone, key=repr)  # no need to solve anything
        out: list[Key] = []
        for group in self.groups(hidden):
            if group not in self.cache:
                self.cache[group] = self._pinned_in(group)
            out += self.cache[group]
        return sorted(out, key=repr)

    def alone(self, hidden: frozenset[Key]) -> set[Key]:
        """Cells pinned at a glance: the only unknown in an identity."""
        unknown = hidden | self.unpublished
        found = set()
        for ident in self.identities:
            if ident.overlap:
                continue
            inside = [k for k in (*ident.parts, ident.whole) if k in unknown]
            if len(inside) == 1 and self.sensitive(inside[0]):
                found.add(inside[0])
        return found

    def _pinned_in(self, group: frozenset[Key]) -> frozenset[Key]:
        cells = sorted(group, key=repr)
        column = {k: i for i, k in enumerate(cells)}
        rows: list[np.ndarray] = []
        lower: list[float] = []
        upper: list[float] = []
        for index in sorted({i for k in cells for i in self.touching.get(k, ())}):
            ident = self.identities[index]
            row = np.zeros(len(cells))
            rest = float(ident.extra)
            for k in ident.parts:
                if k in column:
                    row[column[k]] += 1
                else:
                    rest -= self.values[k]
            if ident.whole in column:
                row[column[ident.whole]] -= 1
            else:
                rest += self.values[ident.whole]
            rows.append(row)
            lower.append(rest)
            upper.append(np.inf if ident.overlap else rest)
            if ident.overlap:
                for k in ident.parts:  # no row is more than the whole
                    if k not in column and ident.whole not in column:
                        continue
                    part = np.zeros(len(cells))
                    bound = 0.0
                    if k in column:
                        part[column[k]] += 1
                    else:
                        bound -= self.values[k]
                    if ident.whole in column:
                        part[column[ident.whole]] -= 1
                    else:
                        bound += self.values[ident.whole]
                    rows.append(part)
                    lower.append(-np.inf)
                    upper.append(bound)
        low, high = zip(*(self.bounds(k) for k in cells), strict=True)
        problem = {
            "integrality": np.ones(len(cells)),
            "bounds": Bounds(np.array(low, float), np.array(high, float)),
            "constraints": LinearConstraint(np.array(rows), lower, upper) if rows else None,
        }
        out = set()
        truth = np.array([self.values[k] for k in cells], float)
        free = np.zeros(len(cells), bool)  # seen at another value in some solution
        for k in cells:
            i = column[k]
            if not self.sensitive(k) or free[i]:
                continue
            for sign in (1.0, -1.0):
                objective = np.zeros(len(cells))
                objective[i] = sign
                result = milp(objective, **problem)
                if result.status == _INFEASIBLE:
                    # The true counts are always a solution, so "infeasible" is HiGHS's
                    # presolve going wrong (seen on a random year): solve it without.
                    result = milp(objective, options={"presolve": False}, **problem)
                if result.status != 0:
                    raise ValueError("the counts do not fit their own identities")
                # Every solution is a witness: a cell at another value there is not pinned.
                free |= np.abs(result.x - truth) > 0.5
                if free[i]:
                    break
            else:
                out.add(k)
        return frozenset(out)


def suppress(
    values: Mapping[Key, int],
    identities: Sequence[Identity[Key]],
    min_count: int,
    frozen: Mapping[Key, bool] | None = None,
    unpublished: Collection[Key] = (),
) -> frozenset[Key]:
    """The published cells to hide. ``frozen`` cells keep the hiding they already have
    (a report made before); ``unpublished`` cells are never shown."""
    system = _System(values, identities, min_count, unpublished)
    fixed = dict(frozen or {})
    published = [k for k in values if k not in system.unpublished]
    hidden = frozenset(k for k in published if (fixed[k] if k in fixed else system.small(k)))
    secondary: list[Key] = []
    while pinned := system.pinned(hidden):
        candidates = _candidates(system, pinned[0], hidden, fixed)
        if not candidates:
            raise Unprotectable(pinned[0])
        best = min(
            candidates,
            key=lambda k: (len(system.alone(hidden | {k})), values[k], repr(k)),
        )
        hidden |= {best}
        secondary.append(best)
    for key in sorted(secondary, key=lambda k: (-values[k], repr(k))):
        trial = hidden - {key}
        if not system.pinned(trial):
            hidden = trial
    return hidden


def _candidates(
    system: _System[Key], cell: Key, hidden: frozenset[Key], fixed: Mapping[Key, bool]
) -> list[Key]:
    """Shown cells that may still be hidden, in the identities of ``cell``, or else in
    those of its group."""

    def around(keys: Iterable[Key], least: int) -> list[Key]:
        found = {
            k
            for key in keys
            for index in system.touching.get(key, ())
            for k in (*system.identities[index].parts, system.identities[index].whole)
        }
        return sorted(
            (
                k
                for k in found
                if k not in hidden
                and k not in system.unpublished
                and k not in fixed
                and (system.values[k] >= system.min or system.values[k] == least)
            ),
            key=repr,
        )

    group = next(g for g in system.groups(hidden) if cell in g)
    # A larger count first; a 0 shown as "< 5" only where no larger count can help.
    for keys, least in (([cell], -1), (group, -1), ([cell], 0), (group, 0)):
        found = around(keys, least)
        if found:
            return found
    return []
