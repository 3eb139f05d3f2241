"""What the intake asks and how the line after it runs: ``[intake]``, ``[limits]``,
``[aftercare]`` and ``[report]``."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from bot.config.base import Id, Section

TOPICS = (
    "bullying",
    "discrimination",
    "sexual_harassment",
    "aggression",
    "integrity",
    "conflict",
    "other",
    "rather_not_say",
)


class IntakeSettings(Section, frozen=True):
    # Each topic needs its text topic.<id> in every locale.
    topics: Annotated[tuple[Id, ...], Meta(min_length=1)] = TOPICS
    description_max_chars: Annotated[int, Meta(gt=0, le=100_000)] = 1000
    name_max_chars: Annotated[int, Meta(gt=0, le=1_000)] = 80
    reachable_max_chars: Annotated[int, Meta(gt=0, le=10_000)] = 200


class Limits(Section, frozen=True):
    message_max_chars: Annotated[int, Meta(gt=0, le=100_000)] = 4000
    burst_messages: Annotated[int, Meta(gt=0, le=1_000_000)] = 15
    messages_per_minute: Annotated[int, Meta(gt=0, le=1_000_000)] = 30


class Aftercare(Section, frozen=True):
    reply_reminder_working_days: Annotated[int, Meta(gt=0, le=260)] = 2
    # A topic the intake does not ask about can never be chosen, so it never matches.
    whistleblower_topics: tuple[Id, ...] = ("integrity",)
    acknowledgement_days: Annotated[int, Meta(gt=0, le=365)] = 7
    # Less than acknowledgement_days: checked when the config loads.
    acknowledgement_reminder_days_before: Annotated[int, Meta(ge=0, le=365)] = 2
    feedback_months: Annotated[int, Meta(gt=0, le=120)] = 3
    feedback_reminder_days_before: Annotated[int, Meta(ge=0, le=3_650)] = 14
    checkin_max_days: Annotated[int, Meta(gt=0, le=3_650)] = 365


class ReportSettings(Section, frozen=True):
    # Counts below this show as "< N" in the annual report (and cells that would give
    # them away are hidden too). 1 hides nothing.
    min_count: Annotated[int, Meta(ge=1)] = 5
    # A report of a year that has not ended covers only its quarters that ended at
    # least this many days ago (late registrations are counted by then), so that two
    # reports made a day apart never differ by one request.
    settle_days: Annotated[int, Meta(ge=0, le=365)] = 14
