"""Helpers for the fault tests: a data folder with something in it, broken on purpose."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import jsonl, run_cli

INTAKE = [
    {"text": "hello"},
    {"choice": "intake"},
    {"choice": "agree"},
    {"choice": "adviser-b"},
    {"choice": "no"},
    {"text": "bullying"},
    {"text": "My manager shouts at me in every meeting"},
    {"text": "Robin"},
    {"choice": "email"},
    {"text": "robin@example.nl"},
    {"choice": "message_ok"},
    {"choice": "evenings"},
    {"choice": "this_week"},
    {"choice": "send"},
]

# Each command a person or an admin runs on a data folder (`run` needs a channel:
# Telegram at an address where nothing answers, which it never reaches here).
COMMANDS = {
    "chat": ["chat", "--jsonl", "--user", "someone"],
    "inbox": ["inbox"],
    "write": ["write", "ACDE-FGHJ", "hello"],
    "doctor": ["doctor"],
    "run": ["run"],
}
RUN_CHANNEL = (
    '[telegram]\nenabled = true\ntoken_file = "telegram.token"\n'
    'api_base_url = "http://127.0.0.1:9"\n'
)


def config_with_channel(tmp_path: Path) -> Path:
    (tmp_path / "telegram.token").write_text("123:abc\n")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[bot]\ndata_dir = "data"\nlog_level = "DEBUG"\n[limits]\nburst_messages = 10000\n'
        f"{RUN_CHANNEL}"
    )
    return path


def chat(config: Path, user: str, *messages: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = run_cli(
        ["chat", "--jsonl", "--config", str(config), "--user", user, "--lang", "en"],
        stdin=jsonl(*messages),
    )
    assert result.returncode == 0, result.stderr
    return result


def run(config: Path, command: str) -> subprocess.CompletedProcess[str]:
    return run_cli([*COMMANDS[command], "--config", str(config)], timeout=30)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, but SQLite's own -wal/-shm files (made and removed on open)
    and `vertrouwd run`'s lock file (which holds only the pid of whoever ran last)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm")) and path.name != "run.lock"
    }


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line the command printed on stderr (log lines aside)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("vertrouwd: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def flip_byte_in_blob(database: Path, table: str, where: str) -> None:
    """Change one byte in the middle of a sealed value, in the file itself."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        (blob,) = db.execute(f"SELECT sealed FROM {table} WHERE {where}").fetchone()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(database.read_bytes())
    at = data.find(blob)
    assert at >= 0 and data.find(blob, at + 1) < 0
    data[at + len(blob) // 2] ^= 0x01
    database.write_bytes(bytes(data))


@contextlib.contextmanager
def small_tmpfs(mount: Path, size: str) -> Iterator[Path | None]:
    """A file system of ``size`` at ``mount``; None where mounting is not allowed (root
    is needed)."""
    mount.mkdir(exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write one file until the file system refuses another byte; returns it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (65_536, 4_096, 512, 1):
            with contextlib.suppress(OSError):
                while handle.write(b"\0" * size):
                    pass
    return filler
