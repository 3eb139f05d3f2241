"""How strongly to answer what someone typed: the patterns and the learned score
together. Pure: the score is computed before the step, off the event loop.

- **strong**: the emergency routes that fit the kind of danger, first; inside a
  request, the offer to mark it urgent.
- **gentle**: the normal answer, and one gentle line beside it.
- **none**: the normal answer.

A pattern the admin wrote is always strong: it is explainable and was written for
exactly these words ("ik zie het niet meer zitten" must never get less than the
routes, whatever a model thinks). A high score alone is strong, a moderate one gentle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from bot.flows.danger.detector import DangerMatch


class Strength(IntEnum):
    NONE = 0
    GENTLE = 1
    STRONG = 2


@dataclass(frozen=True)
class DangerScore:
    """What the learned scorer heard: its probability, the strength its thresholds
    give it, and the likeliest kind of danger (one of the pattern categories)."""

    probability: float
    strength: Strength
    category: str


@dataclass(frozen=True)
class Heard:
    strength: Strength
    category: str | None = None  # the kind of danger, for the routes that fit it


NOTHING = Heard(Strength.NONE)
# Kept beside the answers: how strongly the description was heard to tell of danger
# ("gentle" or "strong"), for the adviser's view of the request.
DESCRIPTION_FLAG = "description_danger"


def hear(match: DangerMatch | None, score: DangerScore | None) -> Heard:
    if match is not None:
        return Heard(Strength.STRONG, match.category)
    if score is None or score.strength is Strength.NONE:
        return NOTHING
    return Heard(score.strength, score.category)
