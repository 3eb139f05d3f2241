"""The process's open-file limit: every connection, stream and database is one.

`vertrouwd run` raises its own soft limit toward the hard limit the system allows (a
systemd unit's LimitNOFILE, or the shell's `ulimit -Hn`), and says once when it cannot.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# Enough for the web chat's connections at their default cap and everything else.
WANTED = 8192
# Kept free for the store, the Matrix client, the ops listener and the logs.
RESERVED = 128

try:
    import resource
except ImportError:  # not on this platform (Windows): nothing to raise
    resource = None  # type: ignore[assignment]


def open_file_limit() -> int | None:
    """The soft limit now (None: unknown or unlimited)."""
    if resource is None:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def raise_open_file_limit(wanted: int = WANTED) -> int | None:
    """Raise the soft limit to ``wanted`` where the hard limit allows; the limit after."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning(
                "the open-file limit stays at %d (raising it was refused: %s); with many"
                " visitors at once the web chat refuses connections sooner",
                soft,
                type(exc).__name__,
            )
            return open_file_limit()
    limit = open_file_limit()
    if limit is not None and limit < wanted:
        log.warning(
            "the open-file limit is %d (the system allows no more); raise the hard limit"
            " (LimitNOFILE in the service unit) to %d for many visitors at once",
            limit,
            wanted,
        )
    return limit
