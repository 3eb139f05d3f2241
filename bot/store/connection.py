"""Opening an SQLite database the way every vertrouwd database is opened."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import aiosqlite

from bot.private_files import create_private
from bot.store.base import StoreError


async def open_database(
    path: Path, synchronous: str, isolation_level: str | None = None
) -> aiosqlite.Connection:
    """WAL, deleted content overwritten; autocommit unless ``isolation_level`` is given,
    in which case the first write of a transaction begins it (one round trip less)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        # Created owner-only before SQLite opens it (its -wal and -shm files take the
        # same mode): no moment in which another user could open it.
        with contextlib.suppress(FileExistsError):
            os.close(create_private(path))
    try:
        db = await aiosqlite.connect(path, isolation_level=isolation_level)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path.name}: {type(exc).__name__}") from exc
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA synchronous={synchronous}",
        "PRAGMA busy_timeout=5000",
        "PRAGMA secure_delete=ON",
        "PRAGMA foreign_keys=ON",
    ):
        await db.execute(pragma)
    return db


async def apply_migrations(
    db: aiosqlite.Connection, migrations: tuple[tuple[int, str], ...]
) -> int:
    """Bring the schema up to the newest migration; returns the version now in force."""
    await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    rows = list(await db.execute_fetchall("SELECT MAX(version) FROM schema_version"))
    current = rows[0][0] or 0
    newest = max(version for version, _ in migrations)
    if current > newest:
        raise StoreError(
            f"database schema version {current} is newer than this program knows ({newest})"
        )
    for version, sql in migrations:
        if version > current:
            try:
                await db.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\n"
                    f"INSERT INTO schema_version (version) VALUES ({version});\nCOMMIT;"
                )
            except sqlite3.Error as exc:
                if db.in_transaction:
                    await db.rollback()
                raise StoreError(f"migration {version} failed: {exc}") from exc
            current = version
    return current
