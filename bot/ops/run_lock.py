"""One `vertrouwd run` per data dir: an OS file lock on ``<data_dir>/run.lock``.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on an open file that holds the holder's
process id. The operating system releases it when the process ends, however it ends,
so a crash never leaves a stale lock behind; the pid in the file only says who holds
it while it is held.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

LOCK_FILE = "run.lock"
# A probe by `holder` holds the lock for a moment: a start that meets it tries again.
_ATTEMPTS = 5
_PAUSE_SECONDS = 0.02


class DataDirLocked(Exception):
    """Another process holds the data dir."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        self.data_dir = data_dir
        self.pid = pid
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(f"{holder} is already running on the data dir {data_dir}")


class RunLock:
    """A held lock; ``release`` (or the end of the process) lets it go."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    def release(self) -> None:
        if not self._handle.closed:
            self._handle.close()  # closing the file releases the lock


def _path(data_dir: Path) -> Path:
    return data_dir / LOCK_FILE


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def acquire(data_dir: Path) -> RunLock:
    """Hold the data dir for this process, or raise DataDirLocked naming the holder."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _path(data_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "r+")
    for attempt in range(_ATTEMPTS):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if attempt == _ATTEMPTS - 1:
                handle.close()
                raise DataDirLocked(data_dir, _read_pid(path)) from None
            time.sleep(_PAUSE_SECONDS)
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return RunLock(handle)


def holder(data_dir: Path) -> int | None:
    """The pid of the process holding the data dir (0 if it has not written it yet),
    or None when nobody holds it."""
    path = _path(data_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd) as handle:
        try:
            # A shared lock: free if nobody holds the exclusive one. Released at once.
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(path) or 0
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
