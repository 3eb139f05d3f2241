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
        return ZoneInfo(config.organisation.timezone)
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


def opening_timers(
    created: float, config: Config, whistleblower: bool = False
) -> tuple[Timer, ...]:
    """The reminders a new case starts with: only the reply reminder. A talk with the
    adviser is no report under the whistleblower act; its terms start when the adviser
    records that a report was made (``report_timers``)."""
    care = config.aftercare
    due = add_working_days(
        created,
        care.reply_reminder_working_days,
        zone(config),
        config.organisation.public_holidays,
        config.organisation.days_off,
    )
    return (Timer(REPLY_REMINDER, due),)


def report_timers(reported: float, config: Config) -> tuple[Timer, ...]:
    """A report was made through the organisation's procedure at ``reported``: receipt
    must be confirmed within 7 days, feedback follows within 3 months of that (of the
    7 days' end while no confirmation is recorded)."""
    care = config.aftercare
    ack_deadline = reported + care.acknowledgement_days * _DAY
    return (
        Timer(ACK_REMINDER, ack_deadline - care.acknowledgement_reminder_days_before * _DAY),
        *receipt_timers(ack_deadline, config),
    )


def receipt_timers(confirmed: float, config: Config) -> tuple[Timer, ...]:
    """Receipt of the report was confirmed at ``confirmed``: feedback is due 3 months on."""
    care = config.aftercare
    deadline = add_months(confirmed, care.feedback_months, zone(config))
    return (Timer(FEEDBACK_REMINDER, deadline - care.feedback_reminder_days_before * _DAY),)


def term_deadline(kind: str, due_at: float, config: Config) -> float:
    """The legal deadline a reminder timer warns of (it fires a set number of days before)."""
    care = config.aftercare
    before = (
        care.acknowledgement_reminder_days_before
        if kind == ACK_REMINDER
        else care.feedback_reminder_days_before
    )
    return due_at + before * _DAY


def ack_deadline(timers: tuple[Timer, ...], config: Config) -> float | None:
    """When receipt of a recorded whistleblower report must be confirmed by; None when
    no such report waits for its confirmation."""
    for timer in timers:
        if timer.kind == ACK_REMINDER:
            return term_deadline(ACK_REMINDER, timer.due_at, config)
    return None


_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$|^(\d{1,2})-(\d{1,2})-(\d{4})$")


def parse_day(text: str, now: float, config: Config) -> float | None:
    """The start of a day the adviser names: empty, "today"/"vandaag", YYYY-MM-DD or
    DD-MM-YYYY, in the organisation's time zone; None when unclear or in the future."""
    words = text.strip().casefold()
    tz = zone(config)
    today = datetime.fromtimestamp(now, tz).date()
    if words in ("", "today", "vandaag"):
        day = today
    else:
        match = _DATE.match(words)
        if match is None:
            return None
        year, month, mday = (
            (match.group(1), match.group(2), match.group(3))
            if match.group(1)
            else (match.group(6), match.group(5), match.group(4))
        )
        try:
            day = date(int(year), int(month), int(mday))
        except ValueError:
            return None
    if day > today:
        return None
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=tz).timestamp()


def checkin_delay(text: str) -> float | None:
    """Seconds from an adviser's "14" (days), "14d", "in 2 weeks", "4h"; None if unclear."""
    match = _CHECKIN.match(text.strip())
    if match is None:
        return None
    number, unit = int(match.group(1)), (match.group(2) or "d").lower()
    return number * _UNIT_SECONDS[unit[0]]


def local_date(moment: float, config: Config) -> str:
    return datetime.fromtimestamp(moment, zone(config)).strftime("%Y-%m-%d %H:%M")
