"""Opening an SQLite database the way every vertrouwd database is opened."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import aiosqlite

from bot.private_files import create_private
from bot.store.base import StoreError
from bot.version import program_version


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


async def _writer_version(db: aiosqlite.Connection) -> str | None:
    """The program version that last opened this database, if one recorded itself."""
    try:
        rows = list(await db.execute_fetchall("SELECT version FROM written_by WHERE id = 1"))
    except sqlite3.OperationalError:  # written before programs recorded themselves
        return None
    return str(rows[0][0]) if rows else None


async def apply_migrations(
    db: aiosqlite.Connection, migrations: tuple[tuple[int, str], ...], name: str = "database"
) -> int:
    """Bring the schema up to the newest migration; returns the version now in force.

    A database a newer program has migrated further is refused, never migrated back.
    """
    await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    rows = list(await db.execute_fetchall("SELECT MAX(version) FROM schema_version"))
    current = rows[0][0] or 0
    newest = max(version for version, _ in migrations)
    if current > newest:
        writer = await _writer_version(db)
        raise StoreError(
            f"the {name} was written by a newer vertrouwd"
            f"{f' ({writer})' if writer else ''}, with schema version {current}; this is"
            f" vertrouwd {program_version()}, which knows schema versions up to {newest}"
            " and does not migrate a database back. Run the newer version again (or"
            " restore a backup made before the upgrade); the database was left as it was."
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
    await _record_writer(db)
    return current


async def _record_writer(db: aiosqlite.Connection) -> None:
    """Note the program version, so a program too old for this database can name it."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS written_by"
        " (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL)"
    )
    await db.execute(
        "INSERT INTO written_by (id, version) VALUES (1, ?)"
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        (program_version(),),
    )
    if db.in_transaction:
        await db.commit()
