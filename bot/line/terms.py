"""Clock arithmetic of the line: working days, months, and the timers a case starts with."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Config
from bot.line.holidays import is_day_off
from bot.store.line_records import Timer

REPLY_REMINDER = "reply_reminder"
ACK_REMINDER = "ack_reminder"
FEEDBACK_REMINDER = "feedback_reminder"
CHECKIN = "checkin"

_DAY = 86400.0
# "14", "14d", "14 days", "in 14 dagen", "2w", "2 weeks", "3 weken", "4h", "30 min".
_CHECKIN = re.compile(
    r"^(?:in\s+)?(\d{1,4})\s*(d|days?|dag|dagen|w|weeks?|weken?|h|hours?|uur|m|min|minutes?|minuten)?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"d": _DAY, "w": 7 * _DAY, "h": 3600.0, "u": 3600.0, "m": 60.0}


def zone(config: Config) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def add_working_days(
    start: float,
    days: int,
    tz: ZoneInfo,
    public_holidays: str = "none",
    days_off: frozenset[date] = frozenset(),
) -> float:
    """The same time of day ``days`` working days later: Monday to Friday, without
    public holidays and the organisation's own days off."""
    moment = datetime.fromtimestamp(start, tz)
    left = days
    while left > 0:
        moment += timedelta(days=1)
        if not is_day_off(moment.date(), public_holidays, days_off):
            left -= 1
    return moment.timestamp()


def add_months(start: float, months: int, tz: ZoneInfo) -> float:
    """The same day of the month ``months`` later (or that month's last day)."""
    moment = datetime.fromtimestamp(start, tz)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()


def acknowledgement_due(created: float, config: Config) -> float:
    return created + config.aftercare.acknowledgement_days * _DAY


def feedback_due(created: float, config: Config) -> float:
    return add_months(created, config.aftercare.feedback_months, zone(config))


def opening_timers(created: float, config: Config, whistleblower: bool) -> tuple[Timer, ...]:
    """The reminders a new case starts with."""
    care = config.aftercare
    timers = [
        Timer(
            REPLY_REMINDER,
            add_working_days(
                created,
                care.reply_reminder_working_days,
                zone(config),
                config.public_holidays,
                config.days_off,
            ),
        )
    ]
    if whistleblower:
        ack = (
            acknowledgement_due(created, config) - care.acknowledgement_reminder_days_before * _DAY
        )
        feedback = feedback_due(created, config) - care.feedback_reminder_days_before * _DAY
        timers += [Timer(ACK_REMINDER, max(ack, created)), Timer(FEEDBACK_REMINDER, feedback)]
    return tuple(timers)


def checkin_delay(text: str) -> float | None:
    """Seconds from an adviser's "14" (days), "14d", "in 2 weeks", "4h"; None if unclear."""
    match = _CHECKIN.match(text.strip())
    if match is None:
        return None
    number, unit = int(match.group(1)), (match.group(2) or "d").lower()
    return number * _UNIT_SECONDS[unit[0]]


def local_date(moment: float, config: Config) -> str:
    return datetime.fromtimestamp(moment, zone(config)).strftime("%Y-%m-%d %H:%M")
