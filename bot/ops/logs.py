"""Libraries that would log what people say, or secrets, are kept above that level."""

from __future__ import annotations

import logging
import re

# aiosqlite logs every statement with its parameters at DEBUG; transitions every
# callback at INFO; httpx every request URL, which holds the Telegram bot token;
# matrix-nio names the employees whose keys and sessions it handles at INFO and logs
# whole server responses at DEBUG, its store (peewee) every query.
_QUIET = ("aiosqlite", "asyncio", "transitions", "httpx", "httpcore", "nio", "peewee")
# python-telegram-bot logs updates and request parameters (message texts, user ids) at
# DEBUG, and so does its webhook server.
_NEVER_DEBUG = ("telegram", "tornado", "aiohttp")


def keep_content_out_of_logs(level: str) -> None:
    """Cap the libraries' loggers; safe to call more than once."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    floor = max(logging.INFO, logging.getLevelNamesMapping().get(level, logging.INFO))
    for name in _NEVER_DEBUG:
        logging.getLogger(name).setLevel(floor)


_USER_ID = re.compile(r"@[^\s:]+:[^\s,;'\"()\[\]{}]+")
_ROOM_ID = re.compile(r"![^\s:]+:[^\s,;'\"()\[\]{}]+")
_PLACEHOLDER = re.compile(r"<user>|<room>")


class _WhatWentWrongOnly(logging.Filter):
    """matrix-nio quotes whole events, decrypted content included, in some warnings and
    errors ("Error validating event: ... On instance: {...}"), and names people by their
    Matrix id. Matrix user and room ids become <user> and <room> first (their own ':'
    comes after the localpart, the part that names someone); then only the part before
    the first ':' or '{', or up to the first such placeholder, is kept: what went
    wrong, not what it was about."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = _ROOM_ID.sub("<room>", _USER_ID.sub("<user>", record.getMessage()))
        placeholders = [m.end() for m in _PLACEHOLDER.finditer(message)][:1]
        cuts = [i for i in (message.find(":"), message.find("{"), *placeholders) if i >= 0]
        if cuts:
            record.msg = message[: min(cuts)].rstrip() + " (details withheld)"
            record.args = None
        record.exc_info = record.exc_text = None
        return True


_WITHHOLD = _WhatWentWrongOnly()


_FORMAT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[a-zA-Z%]")


class _FixedTextOnly(logging.Filter):
    """python-telegram-bot quotes whole updates (texts, user ids, names) when one fails
    to parse, at CRITICAL, and bodies it cannot read at ERROR. Only the fixed text of a
    log call passes (its format string, values left out), with the exception's type:
    nothing a person sent, at any level."""

    def filter(self, record: logging.LogRecord) -> bool:
        fixed = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        if record.args:
            fixed = _FORMAT_FIELD.sub("…", fixed)
        if record.exc_info and record.exc_info[0] is not None:
            fixed = f"{fixed} ({record.exc_info[0].__name__})"
        record.msg, record.args = fixed, None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


_FIXED_TEXT_ONLY = _FixedTextOnly()


def withhold_content(prefix: str) -> None:
    """Put the stricter filter on every logger of a library already imported."""
    names = [
        n for n in logging.root.manager.loggerDict if n == prefix or n.startswith(prefix + ".")
    ]
    for name in [prefix, *names]:
        logger = logging.getLogger(name)
        if _FIXED_TEXT_ONLY not in logger.filters:
            logger.addFilter(_FIXED_TEXT_ONLY)


def withhold_details(prefix: str) -> None:
    """Put the filter on every logger of a library already imported (filters on a
    logger do not apply to its children, so each module's logger gets it)."""
    names = [
        n for n in logging.root.manager.loggerDict if n == prefix or n.startswith(prefix + ".")
    ]
    for name in [prefix, *names]:
        logger = logging.getLogger(name)
        if _WITHHOLD not in logger.filters:
            logger.addFilter(_WITHHOLD)
