"""How a cell of the report is shown: its count, or hidden. Pure.

Which cells are hidden is chosen over the whole report at once
(bot/report/cells.py, bot/report/suppression.py); a hidden cell says why:
- SMALL: a count below the minimum, shown as "< 5" (a 0 only where hiding needs it);
- COMPLEMENT: a larger count hidden as well, so that a small one cannot be worked out
  from the totals and the other tables;
- ABSENT: nothing to show (a year before any count, or quarters folded into the year).
"""

from __future__ import annotations

from dataclasses import dataclass

SHOWN = ""
SMALL = "small"  # below the minimum
COMPLEMENT = "complement"  # hidden too, so that a small one cannot be worked out
ABSENT = "absent"  # not given: no counts that year, or too few for quarters


@dataclass(frozen=True)
class Cell:
    count: int
    hidden: str = SHOWN  # SHOWN, SMALL or COMPLEMENT

    @property
    def shown(self) -> bool:
        return self.hidden == SHOWN


def cell(count: int, hidden: bool, min_count: int) -> Cell:
    if not hidden:
        return Cell(count)
    return Cell(count, SMALL if count < min_count else COMPLEMENT)
