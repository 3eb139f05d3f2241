"""The report's coarse clock: the quarter of a moment, and working days as buckets."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.config import Config
from bot.line.holidays import is_day_off
from bot.line.terms import zone

# Time to first contact, in working days: each day up to a week, then coarser.
FIRST_CONTACT_BUCKETS = ("0", "1", "2", "3", "4", "5", "6-10", "11+")


def quarter_of(moment: float, config: Config) -> tuple[int, int]:
    """Year and quarter of ``moment`` in the organisation's time zone."""
    local = datetime.fromtimestamp(moment, zone(config))
    return local.year, (local.month - 1) // 3 + 1


def covered_quarters(year: int, now: float, config: Config) -> tuple[int, ...]:
    """The quarters of ``year`` a report made at ``now`` covers: those that ended at
    least ``report.settle_days`` ago, in the organisation's time zone."""
    tz = zone(config)
    covered = []
    for quarter in (1, 2, 3, 4):
        end = datetime(year + quarter // 4, quarter % 4 * 3 + 1, 1, tzinfo=tz)
        if (end + timedelta(days=config.report.settle_days)).timestamp() <= now:
            covered.append(quarter)
    return tuple(covered)


def quarter_of_date(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def working_days_between(start: float, end: float, config: Config) -> int:
    """The working days after the day of ``start``, up to and including the day of
    ``end``: 0 on the same day, 1 from Friday evening to Monday."""
    tz = zone(config)
    day, last = datetime.fromtimestamp(start, tz).date(), datetime.fromtimestamp(end, tz).date()
    days = 0
    while day < last:
        day += timedelta(days=1)
        if not is_day_off(day, config.organisation.public_holidays, config.organisation.days_off):
            days += 1
    return days


def first_contact_bucket(working_days: int) -> str:
    if working_days <= 5:
        return str(max(working_days, 0))
    return "6-10" if working_days <= 10 else "11+"


def bucket_upper_bound(bucket: str) -> int:
    """The most working days a bucket holds (11+ counts as never within a promise)."""
    return {"6-10": 10, "11+": 10_000}.get(bucket, int(bucket) if bucket.isdigit() else 10_000)
