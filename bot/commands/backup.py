"""`vertrouwd backup DIR` and `vertrouwd restore DIR`.

A backup is a consistent copy of every database in the data folder, taken with
SQLite's online backup while the bot runs, plus the sealed Matrix state. What was
sealed stays sealed: the key file is never copied, so a backup alone opens nothing.
A restore checks the backup belongs to the key file in use, and refuses while a bot
runs on the data folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.commands import Subcommands
from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import key_fingerprint, read_key_file
from bot.keys.guard import STATE_FILE
from bot.ops import run_lock

MANIFEST = "vertrouwd-backup.json"
BACKUP_FORMAT = 1


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy every database into a new folder, safely while the bot runs (no key)",
    )
    backup.add_argument("folder", type=Path, help="a new or empty folder for the backup")
    backup.set_defaults(entry=backup_command)
    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="put a backup back into the data folder (the bot must be stopped)",
    )
    restore.add_argument("folder", type=Path, help="a folder made by `vertrouwd backup`")
    restore.set_defaults(entry=restore_command)


def backup_command(config: Config, args: argparse.Namespace) -> int:
    for line in backup(config, args.folder):
        print(line)
    return 0


def restore_command(config: Config, args: argparse.Namespace) -> int:
    for line in restore(config, args.folder):
        print(line)
    return 0


def _databases(data_dir: Path) -> list[Path]:
    from bot.sinks.local_inbox import INBOX_FILE

    found = [data_dir / STORE_FILE, data_dir / INBOX_FILE]
    found += sorted((data_dir / "matrix-store").glob("*.db"))  # matrix-nio's own store
    return [path for path in found if path.is_file()]


def _fingerprint_of(db: sqlite3.Connection) -> str | None:
    try:
        rows = db.execute("SELECT fingerprint FROM key_fingerprint").fetchall()
    except sqlite3.OperationalError:  # not one of ours (nio's store), or never started
        return None
    return str(rows[0][0]) if rows else None


def _copy_database(source: Path, target: Path) -> str | None:
    """One consistent copy, as a single file; returns the key fingerprint recorded."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    with (
        contextlib.closing(sqlite3.connect(source, timeout=10)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)  # in one step: one snapshot, even while the bot writes
        dst.execute("PRAGMA journal_mode=DELETE")
        fingerprint = _fingerprint_of(dst)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())
    return fingerprint


def backup(config: Config, target: Path) -> list[str]:
    """Copy the data folder's databases into ``target``; returns what to tell the admin."""
    data_dir = config.bot.data_dir
    databases = _databases(data_dir)
    if not databases:
        raise BackupError(f"nothing to back up: no database in {data_dir} (bot.data_dir)")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"backup folder {target} exists and is not empty; name a new folder")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.chmod(0o700)
    files, fingerprints = [], set()
    try:
        for path in databases:
            name = str(path.relative_to(data_dir))
            fingerprint = _copy_database(path, target / name)
            if fingerprint is not None:
                fingerprints.add(fingerprint)
            files.append(name)
        if (data_dir / STATE_FILE).is_file():
            shutil.copyfile(data_dir / STATE_FILE, target / STATE_FILE)
            (target / STATE_FILE).chmod(0o600)
            files.append(STATE_FILE)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed on {path}: {exc}; nothing in {target} is usable") from exc
    if len(fingerprints) != 1:
        raise BackupError(
            f"the databases in {data_dir} do not name one key file; run `vertrouwd doctor`"
        )
    manifest = {
        "format": BACKUP_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "key_fingerprint": fingerprints.pop(),
        "files": files,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (target / MANIFEST).chmod(0o600)
    return [
        f"backed up {len(files)} file(s) from {data_dir} to {target}; their content stays"
        " encrypted.",
        f"The key file is NOT in the backup. Keep a copy of {config.key_file} somewhere else"
        " (not beside the backup): without it nothing in the backup can be read, and with"
        " both together everything can.",
    ]


def _manifest(source: Path) -> dict[str, object]:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{source} is not a vertrouwd backup (no {MANIFEST})") from exc
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST} cannot be read; the backup is damaged") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{source / MANIFEST}: not a backup this vertrouwd can restore")
    return manifest


@contextlib.contextmanager
def _no_bot_running(data_dir: Path) -> Iterator[None]:
    """Hold the data folder's run lock (bot/ops/run_lock.py), as `vertrouwd run` does, for
    the whole restore; a bot holding it now means the restore is refused."""
    try:
        lock = run_lock.acquire(data_dir)
    except run_lock.DataDirLocked as exc:
        raise BackupError(
            f"a bot is running on {data_dir} ({exc.pid or 'another process'}); stop it first"
            " (nothing was changed)"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _sound(path: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            result = db.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.Error as exc:
        raise BackupError(f"backup file {path} is damaged ({exc}); nothing was changed") from exc
    if result != [("ok",)]:
        raise BackupError(f"backup file {path} is damaged; nothing was changed")


def _put_back(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staged = target.with_name(target.name + ".restoring")
    staged.unlink(missing_ok=True)
    shutil.copyfile(source, staged)
    staged.chmod(0o600)
    with open(staged, "rb") as handle:
        os.fsync(handle.fileno())
    # The old database's write-ahead log must not be applied to the restored file.
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(staged, target)


def restore(config: Config, source: Path) -> list[str]:
    """Put a backup back into the data folder; returns what to tell the admin."""
    manifest = _manifest(source)
    files = manifest.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise BackupError(f"{source / MANIFEST}: the list of files is damaged")
    if any(Path(name).is_absolute() or ".." in Path(name).parts for name in files):
        raise BackupError(f"{source / MANIFEST}: names a file outside the data folder")
    if not config.key_file.is_file():
        raise BackupError(
            f"key file {config.key_file} is missing; a backup can only be restored with"
            " its own key file (storage.key_file)"
        )
    fingerprint = key_fingerprint(read_key_file(config.key_file))
    if manifest.get("key_fingerprint") != fingerprint:
        raise BackupError(
            f"the backup in {source} belongs to another key file than {config.key_file};"
            " put the right key file in place first (nothing was changed)"
        )
    for name in files:
        if name.endswith((".sqlite3", ".db")):
            _sound(source / name)
        elif not (source / name).is_file():
            raise BackupError(f"backup file {source / name} is missing; nothing was changed")
    with _no_bot_running(config.bot.data_dir):
        for name in files:
            _put_back(source / name, config.bot.data_dir / name)
    return [f"restored {len(files)} file(s) from {source} into {config.bot.data_dir}."]
