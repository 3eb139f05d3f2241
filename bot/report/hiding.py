"""Small counts hidden, so that no figure in the report points at a person. Pure.

A column of a table is a set of counts and the total they belong to:
- every count from 1 to below the minimum is hidden ("< 5"); a 0 points at no one
  and is shown;
- then, while a reader could still work out a hidden count from the total and the
  counts shown (knowing that "< 5" is 1 to 4 and a cell hidden by this rule is 5 or
  more), the smallest count still shown is hidden as well;
- a total below the minimum hides its whole column.
Tables whose rows may overlap (several topics per case) get the same treatment: a
reader may know that most cases have one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SHOWN = ""
SMALL = "small"  # below the minimum
COMPLEMENT = "complement"  # hidden too, so that a small one cannot be worked out


@dataclass(frozen=True)
class Cell:
    count: int
    hidden: str = SHOWN  # SHOWN, SMALL or COMPLEMENT

    @property
    def shown(self) -> bool:
        return self.hidden == SHOWN


def hide_column(counts: Sequence[int], total: int, min_count: int) -> tuple[list[Cell], Cell]:
    """The cells of one column and its total, with the hiding rules applied."""
    small = [SMALL if 0 < c < min_count else SHOWN for c in counts]
    if total < min_count:
        cells = [Cell(c, r) for c, r in zip(counts, small, strict=True)]
        return cells, Cell(total, SMALL if total else SHOWN)
    reasons = small
    total_cell = Cell(total)
    while pinned(counts, reasons, min_count):
        candidates = [i for i, r in enumerate(reasons) if r == SHOWN and counts[i] > 0]
        if not candidates:
            # Everything is hidden and the sum still tells: the total goes too.
            total_cell = Cell(total, COMPLEMENT)
            break
        reasons[min(candidates, key=lambda i: (counts[i], i))] = COMPLEMENT
    return [Cell(c, r) for c, r in zip(counts, reasons, strict=True)], total_cell


def pinned(counts: Sequence[int], reasons: Sequence[str], min_count: int) -> bool:
    """Whether some hidden count has only one value left that fits the column's sum."""
    hidden = [i for i, r in enumerate(reasons) if r != SHOWN]
    if not hidden:
        return False
    rest = sum(counts[i] for i in hidden)  # what the sum and the shown counts leave
    bounds = {i: (1, min_count - 1) if reasons[i] == SMALL else (min_count, rest) for i in hidden}
    for i in hidden:
        others_low = sum(bounds[j][0] for j in hidden if j != i)
        others_high = sum(bounds[j][1] for j in hidden if j != i)
        low = max(bounds[i][0], rest - others_high)
        high = min(bounds[i][1], rest - others_low)
        if low >= high:
            return True
    return False
