"""The files of a backup: consistent database copies checked page by page, files
sealed as a whole, and the data folder's current files moved aside on a restore."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.keys.crypto import KeyMaterial, derived_key, version_prefix
from bot.store.reseal import SealedColumn

_FILE_PURPOSE = b"vertrouwd backup file 1"
_NONCE_BYTES = 12


class DamagedFile(Exception):
    """A database copy failed SQLite's page check, or a sealed file does not open."""


def quick_check(db: sqlite3.Connection) -> str | None:
    """SQLite's check of every page and index (without comparing index contents):
    None when sound, else its first complaint."""
    rows = db.execute("PRAGMA quick_check(1)").fetchall()
    if rows == [("ok",)]:
        return None
    return " ".join(str(rows[0][0]).split()) if rows else "no answer"  # one line


def private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def copy_database(source: Path, target: Path) -> str | None:
    """One consistent copy, as a single file, checked page by page; returns the key
    fingerprint it records (None for a database that is not one of ours)."""
    private_file(target)
    with (
        contextlib.closing(sqlite3.connect(source, timeout=10)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)  # in one step: one snapshot, even while the bot writes
        dst.execute("PRAGMA journal_mode=DELETE")
        problem = quick_check(dst)
        if problem is not None:
            raise DamagedFile(f"{source.name}: {problem}")
        fingerprint = recorded_fingerprint(dst)
    fsync(target)
    return fingerprint


def recorded_fingerprint(db: sqlite3.Connection) -> str | None:
    try:
        rows = db.execute("SELECT fingerprint FROM key_fingerprint").fetchall()
    except sqlite3.OperationalError:  # not one of ours (nio's store), or never started
        return None
    return str(rows[0][0]) if rows else None


def versions_sealed_in(database: Path, columns: Iterable[SealedColumn]) -> set[int]:
    """The data key versions the database's sealed fields use."""
    found: set[int] = set()
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        for column in columns:
            try:
                rows = db.execute(
                    f"SELECT DISTINCT substr({column.column}, 1, 2) FROM {column.table}"
                    f" WHERE {column.column} IS NOT NULL"
                ).fetchall()
            except sqlite3.OperationalError:  # a table an older schema does not have
                continue
            found.update(int.from_bytes(row[0], "big") for row in rows if len(row[0]) == 2)
    return found


def _file_aead(material: KeyMaterial, version: int) -> AESGCM:
    return AESGCM(derived_key(material.data_keys[version], _FILE_PURPOSE))


def seal_file(source: Path, target: Path, name: str, material: KeyMaterial) -> None:
    """``source`` sealed as a whole with the current data key, bound to its ``name``."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _file_aead(material, material.current).encrypt(
        nonce, source.read_bytes(), name.encode()
    )
    private_file(target)
    target.write_bytes(version_prefix(material.current) + nonce + sealed)
    fsync(target)


def open_sealed_file(source: Path, name: str, version: int, material: KeyMaterial) -> bytes:
    blob = source.read_bytes()
    start = len(version_prefix(version)) + _NONCE_BYTES
    try:
        return _file_aead(material, version).decrypt(
            blob[len(version_prefix(version)) : start], blob[start:], name.encode()
        )
    except (InvalidTag, KeyError) as exc:
        raise DamagedFile(f"{source} does not open with the key file") from exc


def put_in_place(content: bytes | Path, target: Path) -> None:
    """Write ``target`` whole (0600) through a staged file; nothing half-written."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staged = target.with_name(target.name + ".restoring")
    staged.unlink(missing_ok=True)
    if isinstance(content, Path):
        shutil.copyfile(content, staged)
    else:
        staged.write_bytes(content)
    staged.chmod(0o600)
    fsync(staged)
    os.replace(staged, target)


def move_aside(data_dir: Path, names: Iterable[str]) -> Path | None:
    """Move the data folder's files of these names (a database with its write-ahead
    log) into ``replaced-<time>/``; returns that folder, or None when nothing was there."""
    aside = data_dir / f"replaced-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    moved = False
    for name in names:
        for suffix in ("", "-wal", "-shm"):
            path = data_dir / (name + suffix)
            if path.is_file():
                (aside / name).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                aside.chmod(0o700)
                os.replace(path, aside / (name + suffix))
                moved = True
    return aside if moved else None
