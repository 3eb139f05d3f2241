"""Days that are no working days for the reminders' working-day count.

The Dutch national holidays are those the Algemene termijnenwet recognises: New
Year's Day, Easter Monday, King's Day, 5 May, Ascension Day, Whit Monday and both
Christmas days.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@cache
def dutch_public_holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:  # on a Sunday it moves to the Saturday before
        kings_day = date(year, 4, 26)
    return frozenset(
        {
            date(year, 1, 1),
            easter + timedelta(days=1),
            kings_day,
            date(year, 5, 5),
            easter + timedelta(days=39),
            easter + timedelta(days=50),
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


def is_day_off(day: date, public_holidays: str, extra: frozenset[date]) -> bool:
    """Saturday, Sunday, a public holiday (``"nl"``, or ``"none"``) or an extra day."""
    if day.weekday() >= 5 or day in extra:
        return True
    return public_holidays == "nl" and day in dutch_public_holidays(day.year)
