"""An adviser's working hours as a person types them at `vertrouwd init`
("ma-do 9:00-17:00", "Mon-Thu 9-17", "Tue and Thu") turned into the settings
working_days and working_hours."""

from __future__ import annotations

import re

from bot.config import WEEKDAYS

_DAY_WORDS = {
    **{day: index for index, day in enumerate(WEEKDAYS)},
    **{day: index for index, day in enumerate(("ma", "di", "wo", "do", "vr", "za", "zo"))},
    **{
        day: index
        for index, day in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    **{
        day: index
        for index, day in enumerate(
            ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
        )
    },
}
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?"
_SPAN = re.compile(rf"{_TIME}\s*(?:-|\u2013|tot|to|till|until)\s*{_TIME}\s*(?:uur|h)?")
_DAY_RANGE = re.compile(r"([a-z]+)\s*(?:-|\u2013|t/m|tot en met|to|through)\s*([a-z]+)")


def parse_working_hours(text: str) -> tuple[list[str] | None, str | None] | None:
    """The days (mon...sun) and the span "HH:MM-HH:MM", each None when not given;
    None when the text cannot be read."""
    words = text.casefold().strip()
    span: str | None = None
    match = _SPAN.search(words)
    if match:
        start_h, start_m, end_h, end_m = match.groups()
        start = int(start_h) * 60 + int(start_m or 0)
        end = int(end_h) * 60 + int(end_m or 0)
        if not 0 <= start < end <= 24 * 60:
            return None
        span = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        words = words[: match.start()] + " " + words[match.end() :]
    days: set[int] = set()
    for first, last in _DAY_RANGE.findall(words):
        if first in _DAY_WORDS and last in _DAY_WORDS:
            days |= set(range(_DAY_WORDS[first], _DAY_WORDS[last] + 1))
    words = _DAY_RANGE.sub(" ", words)
    for word in re.findall(r"[a-z]+", words):
        if word in _DAY_WORDS:
            days.add(_DAY_WORDS[word])
        elif word not in ("and", "en", "on", "op", "uur"):
            return None
    if not days and span is None:
        return None
    return ([WEEKDAYS[d] for d in sorted(days)] if days else None), span
