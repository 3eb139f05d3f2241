"""The clock arithmetic behind reminders and check-ins."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.line.holidays import dutch_public_holidays
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


def test_dutch_public_holidays_and_own_days_off_are_no_working_days():
    # Christmas Eve 2026 is a Thursday; Christmas and Boxing Day fall on Friday and Saturday.
    start = at("2026-12-24 10:00")
    assert local(add_working_days(start, 2, AMS, "none")) == "Mon 2026-12-28 10:00"
    assert local(add_working_days(start, 2, AMS, "nl")) == "Tue 2026-12-29 10:00"
    extra = frozenset({date(2026, 12, 28)})
    assert local(add_working_days(start, 2, AMS, "nl", extra)) == "Wed 2026-12-30 10:00"
    # King's Day moves to Saturday when 27 April is a Sunday (2025).
    assert date(2025, 4, 26) in dutch_public_holidays(2025)
    assert dutch_public_holidays(2026) >= {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)}


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
