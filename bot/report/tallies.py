"""What each step adds to the annual report's counts. Pure: no I/O.

Every count of a case falls in the quarter the case came in, so a case closed in
January still counts with the year it belongs to.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.config import Config
from bot.report.periods import (
    first_contact_bucket,
    quarter_of,
    quarter_of_date,
    working_days_between,
)
from bot.report.register import OUTSIDE, answered
from bot.store.stat_records import CODE, Count, Tally


def _code(value: object) -> str:
    text = str(value)
    return text if CODE.match(text) else "other"


def _topics(answers: dict[str, Any]) -> list[str]:
    topic = answers.get("topic")
    listed = topic if isinstance(topic, list) else [topic] if topic else []
    return [_code(t) for t in listed] or ["none"]


def handoff_tally(
    payload: dict[str, Any], adviser_id: str, channel: str, now: float, config: Config
) -> Tally:
    """A request reached the bot's outbox: who it is for, about what, on which channel."""
    year, quarter = quarter_of(now, config)
    counts = [
        Count("contact", "bot"),
        Count("channel", _code(channel)),
        Count("urgent", "yes" if payload.get("urgent") else "no"),
        *(Count("topic", topic) for topic in _topics(payload.get("answers") or {})),
    ]
    return Tally(year, quarter, adviser_id, tuple(counts))


def first_contact_tally(created_at: float, adviser_id: str, now: float, config: Config) -> Tally:
    year, quarter = quarter_of(created_at, config)
    bucket = first_contact_bucket(working_days_between(created_at, now, config))
    return Tally(year, quarter, adviser_id, (Count("first_contact", bucket),))


def registration_tally(state: dict[str, object], adviser_id: str, period: tuple[int, int]) -> Tally:
    """A finished registration; a contact outside the bot is also counted as a contact."""
    pairs = answered(state)
    if state["source"] == OUTSIDE:
        pairs.append(("contact", OUTSIDE))
        pairs += [("topic", value) for dim, value in list(pairs) if dim == "registered_topic"]
    year, quarter = period
    return Tally(year, quarter, adviser_id, tuple(Count(d, v) for d, v in pairs))


def whistleblower_tally(value: str, moment: float, adviser_id: str, config: Config) -> Tally:
    """A whistleblower report made ("reported"), or its receipt confirmed within the term
    ("receipt_within") or later ("receipt_later"): counted in the report's quarter."""
    year, quarter = quarter_of(moment, config)
    return Tally(year, quarter, adviser_id, (Count("whistleblower", value),))


def activity_tally(day: date, kind: str, participants: int, adviser_id: str) -> Tally:
    year, quarter = quarter_of_date(day)
    counts = (Count("activity", kind), Count("participants", kind, participants))
    return Tally(year, quarter, adviser_id, counts)
