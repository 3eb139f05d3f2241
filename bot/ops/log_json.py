"""Logs for machines: one JSON object per line.

The same records reach this formatter as the text one (the same loggers capped, the
same filters), so what is withheld in text is withheld here too; only the layout
differs. The case reference a line is about gets a field of its own.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from bot.flows.answers import CASE_REF_ALPHABET

_CASE_REF = re.compile(rf"\b[{CASE_REF_ALPHABET}]{{4}}-[{CASE_REF_ALPHABET}]{{4}}\b")


def case_ref_in(record: logging.LogRecord, message: str) -> str | None:
    """The case reference the record is about: given as ``extra``, or named in it."""
    given = getattr(record, "case_ref", None)
    if isinstance(given, str) and given:
        return given
    found = _CASE_REF.search(message)
    return found.group(0) if found else None


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        case_ref = case_ref_in(record, message)
        if case_ref:
            entry["case_ref"] = case_ref
        # As the text formatter would append it: a traceback our code lets through.
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)
