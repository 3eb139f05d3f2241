"""Files written whole and in place, never through a link someone else planted."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# A temp file is created, never reused: an existing name (a crash's leftover, or a
# symlink someone placed there) is removed first, and O_NOFOLLOW refuses a link made
# in between.
_FRESH = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


def create_private(path: Path, mode: int = 0o600) -> int:
    """A new file at ``path`` with ``mode``; fails if anything is there (even a link)."""
    return os.open(path, _FRESH, mode)


def replace_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Put ``data`` at ``path`` all at once: a fresh temp file beside it, synced, renamed."""
    temporary = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # unlinks a symlink itself, never its target
    fd = create_private(temporary, mode)
    os.fchmod(fd, mode)  # exactly this mode, whatever the umask took away
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
