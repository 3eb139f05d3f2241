"""What the store keeps for the annual report: counts, and registrations in progress."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# What a dimension or value may be: a code, never free text (the table checks it too).
CODE = re.compile(r"^[a-z0-9_+-]{1,40}$")


@dataclass(frozen=True)
class Count:
    dimension: str  # "topic", "channel", "kind", ...
    value: str  # "bullying", "telegram", "melding", ...
    amount: int = 1


@dataclass(frozen=True)
class Tally:
    """Counts added together, in one period, for one adviser."""

    year: int
    quarter: int
    adviser_id: str
    counts: tuple[Count, ...]


@dataclass(frozen=True)
class StatRow:
    year: int
    quarter: int
    adviser_id: str
    dimension: str
    value: str
    count: int


@dataclass(frozen=True)
class Registration:
    """An adviser's registration while its questions are answered."""

    thread_key: str
    adviser_id: str
    case_ref: str | None
    state: dict[str, Any]
