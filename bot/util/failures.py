"""Naming a failure in a log line without quoting what caused it."""

from __future__ import annotations

import traceback


def describe_failure(exc: BaseException) -> str:
    """Type and place of an exception, without its message (which may quote input)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
