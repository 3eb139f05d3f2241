"""Small counts hidden, so that no figure in the report points at a person. Pure.

A column of a table is a set of counts and the total they belong to:
- every count below the minimum is hidden ("< 5");
- then, while a hidden count could be worked out by subtracting the shown counts from
  the total (only one hidden, or hidden ones that add up to nothing), the smallest
  shown count is hidden as well;
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
    if total < min_count:
        return [Cell(c, SMALL) for c in counts], Cell(total, SMALL)
    reasons = [SMALL if c < min_count else SHOWN for c in counts]
    while True:
        hidden = [i for i, r in enumerate(reasons) if r != SHOWN]
        shown = [i for i, r in enumerate(reasons) if r == SHOWN]
        if not hidden or not shown:
            break
        if len(hidden) >= 2 and sum(counts[i] for i in hidden) > 0:
            break
        smallest = min(shown, key=lambda i: (counts[i], i))
        reasons[smallest] = COMPLEMENT
    return [Cell(c, r) for c, r in zip(counts, reasons, strict=True)], Cell(total)
