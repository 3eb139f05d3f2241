"""Libraries that would log what people say, or secrets, are kept above that level."""

from __future__ import annotations

import logging

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
