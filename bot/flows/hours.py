"""When an adviser works: is it now, and when next. Pure: the time comes in as an argument."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import WEEKDAYS, Adviser, Config
from bot.line.holidays import is_day_off
from bot.line.terms import zone
from bot.texts.catalog import Texts

_LOOKAHEAD_DAYS = 30


def _works_on(day: datetime, adviser: Adviser, config: Config) -> bool:
    return day.weekday() in adviser.hours.days and not is_day_off(
        day.date(), config.organisation.public_holidays, config.organisation.days_off
    )


def next_working_start(now: datetime, adviser: Adviser, config: Config) -> datetime | None:
    """``None`` while the adviser is at work; else when they start next (local time)."""
    local = now.astimezone(zone(config))
    hours = adviser.hours
    minute = local.hour * 60 + local.minute
    if _works_on(local, adviser, config) and hours.start_minute <= minute < hours.end_minute:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(_LOOKAHEAD_DAYS + 1):
        day = midnight + timedelta(days=offset)
        start = day + timedelta(minutes=hours.start_minute)
        if start > local and _works_on(day, adviser, config):
            return start
    return None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe_hours(adviser: Adviser, t: Texts) -> str:
    """For example "maandag, dinsdag en donderdag, van 09:00 tot 17:00"."""
    names = [t(f"weekday.{WEEKDAYS[d]}") for d in adviser.hours.days]
    days = (
        names[0]
        if len(names) == 1
        else t("weekday.list", first=", ".join(names[:-1]), last=names[-1])
    )
    hours = adviser.hours
    return t(
        "hours.span", days=days, start=_clock(hours.start_minute), end=_clock(hours.end_minute)
    )


def describe_next(moment: datetime, now: datetime, config: Config, t: Texts) -> str:
    """As a person says it: "vandaag om 09:00", "morgen om 09:00", "maandag om 09:00"
    within a week, else "maandag 7 december om 09:00" (``moment`` in local time)."""
    time = _clock(moment.hour * 60 + moment.minute)
    days_ahead = (moment.date() - now.astimezone(zone(config)).date()).days
    day = t(f"weekday.{WEEKDAYS[moment.weekday()]}")
    if days_ahead == 0:
        return t("hours.next_today", time=time)
    if days_ahead == 1:
        return t("hours.next_tomorrow", time=time)
    if days_ahead < 7:
        return t("hours.next_week", day=day, time=time)
    return t("hours.next", day=day, date=moment.day, month=t(f"month.m{moment.month}"), time=time)
