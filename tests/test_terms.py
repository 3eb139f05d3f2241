"""The clock arithmetic behind reminders and check-ins."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.line.terms import add_months, add_working_days, checkin_delay

AMS = ZoneInfo("Europe/Amsterdam")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=AMS).timestamp()


def local(moment: float) -> str:
    return datetime.fromtimestamp(moment, AMS).strftime("%a %Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-11-23 09:00", 2, "Wed 2026-11-25 09:00"),  # Monday
        ("2026-11-26 09:00", 2, "Mon 2026-11-30 09:00"),  # Thursday, over the weekend
        ("2026-11-28 12:00", 1, "Mon 2026-11-30 12:00"),  # from a Saturday
    ],
)
def test_working_days_are_monday_to_friday(start: str, days: int, expected: str):
    assert local(add_working_days(at(start), days, AMS)) == expected


def test_months_keep_the_day_or_take_the_last_day_of_a_shorter_month():
    assert local(add_months(at("2026-11-30 10:00"), 3, AMS)) == "Sun 2027-02-28 10:00"
    # Summer time to winter time: the same hour on the clock.
    assert local(add_months(at("2026-09-21 16:13"), 3, AMS)) == "Mon 2026-12-21 16:13"


@pytest.mark.parametrize(
    ("said", "seconds"),
    [
        ("14", 14 * 86400),
        ("14d", 14 * 86400),
        ("in 2 weeks", 14 * 86400),
        ("3 weken", 21 * 86400),
        ("in 3 dagen", 3 * 86400),
        ("4h", 4 * 3600),
        ("30 min", 1800),
        ("someday", None),
        ("", None),
        ("14 months", None),
    ],
)
def test_a_checkin_is_said_in_days_weeks_hours_or_minutes(said: str, seconds: float | None):
    assert checkin_delay(said) == seconds
