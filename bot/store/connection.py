"""Opening an SQLite database the way every vertrouwd database is opened."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

import aiosqlite

from bot.store.base import StoreError
from bot.util.private_files import create_private
from bot.version import program_version

if TYPE_CHECKING:
    from bot.store.key_record import KeyProbe

log = logging.getLogger(__name__)


def damaged(path: Path, exc: BaseException) -> StoreError:
    """One line for a database that cannot be used: which file, what, and what to do.
    Only a file that is really damaged is sent to the backup; a full or failing disk,
    a lock held too long or a permission is named as what it is."""
    # SQLite's page check answers in several lines; the admin gets one.
    reason = " ".join(str(exc).split()) if isinstance(exc, sqlite3.Error) else type(exc).__name__
    code = str(getattr(exc, "sqlite_errorname", "") or "")
    free = _free_bytes(path.parent)
    if code.startswith("SQLITE_FULL") or (
        (code.startswith("SQLITE_IOERR") or isinstance(exc, OSError))
        and free is not None
        and free < _NEARLY_FULL_BYTES
    ):
        return StoreError(
            f"database {path}: the disk is full ({free} bytes free); free some space and"
            " start again (nothing stored was lost)"
        )
    if code.startswith("SQLITE_IOERR") or isinstance(exc, OSError):
        return StoreError(f"database {path}: the disk gave an error ({reason}); check the disk")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(f"database {path} stayed locked by another process ({reason}); retry")
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_READONLY", "SQLITE_AUTH")):
        return StoreError(
            f"database {path} cannot be opened for writing ({reason}); check that the bot's"
            " user owns the data folder and its files"
        )
    return StoreError(
        f"database {path} cannot be read ({reason}); stop the bot and restore the data"
        " folder from a backup (vertrouwd restore DIR), or move the file away to start empty"
    )


_NEARLY_FULL_BYTES = 1_000_000


def _free_bytes(folder: Path) -> int | None:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def make_data_dir(path: Path) -> None:
    """Create a folder owner-only; another process creating it at the same time is fine."""
    if path.exists() and not path.is_dir():
        raise StoreError(f"data folder {path} is a file, not a folder; set bot.data_dir")
    try:
        path.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"data folder {path} cannot be created ({exc.strerror})") from exc
    path.chmod(0o700)  # mkdir's mode is filtered by the umask


async def _connect(path: Path, isolation_level: str | None) -> aiosqlite.Connection:
    connection = aiosqlite.connect(path, isolation_level=isolation_level)
    # A safety net, not the rule (every path closes its connections): should one be
    # left open by mistake, its thread must not keep the process from exiting.
    thread = getattr(connection, "_thread", None)
    if thread is not None:
        thread.daemon = True
    return await connection


async def open_database(
    path: Path, synchronous: str, isolation_level: str | None = None, *, check: bool = True
) -> aiosqlite.Connection:
    """WAL, deleted content overwritten; autocommit unless ``isolation_level`` is given,
    in which case the first write of a transaction begins it (one round trip less).

    A file that is not a sound database raises StoreError naming it; nothing stays open.
    ``check=False`` leaves out the page check, for a second connection to a file that
    was checked a moment ago.
    """
    make_data_dir(path.parent)
    if path.is_dir():
        raise StoreError(f"database {path} is a folder, not a file; move it away")
    fresh = not path.exists()
    if fresh:
        # Created owner-only before SQLite opens it (its -wal and -shm files take the
        # same mode): no moment in which another user could open it.
        with contextlib.suppress(FileExistsError):
            os.close(create_private(path))
    try:
        db = await _connect(path, isolation_level)
    except sqlite3.Error as exc:
        raise damaged(path, exc) from exc
    try:
        if fresh:
            os.chmod(path, 0o600)
        for pragma in (
            "PRAGMA busy_timeout=5000",
            "PRAGMA journal_mode=WAL",
            f"PRAGMA synchronous={synchronous}",
            "PRAGMA secure_delete=ON",
            "PRAGMA foreign_keys=ON",
        ):
            await db.execute(pragma)
        if check:
            await _page_check(db, path)
    except (sqlite3.Error, OSError, UnicodeDecodeError) as exc:  # a flipped byte in text
        with contextlib.suppress(sqlite3.Error, OSError):
            await db.close()
        raise damaged(path, exc) from exc
    return db


# The page check at every open is bounded: bench/page_check.py measures 1-2 s per
# 10^6 rows on an idle 2-core machine (7 s with both cores busy), so only a file far
# larger or a very slow disk meets the bound; `vertrouwd doctor` then checks it whole
# (bot/commands/data_check.py).
START_CHECK_SECONDS = 20.0
_PROGRESS_STEPS = 1_000  # SQLite virtual machine steps between looks at the clock


async def _page_check(db: aiosqlite.Connection, path: Path) -> None:
    """Read every page once: a truncated or flipped file is found now, with a clear
    word, rather than halfway through someone's step."""
    deadline = time.monotonic() + START_CHECK_SECONDS
    await db.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    try:
        rows = list(await db.execute_fetchall("PRAGMA quick_check(1)"))
    except sqlite3.OperationalError:
        if time.monotonic() <= deadline:
            raise
        log.warning(
            "database %s: the page check at start stopped after %.0f s; run `vertrouwd"
            " doctor` to check it whole",
            path.name,
            START_CHECK_SECONDS,
        )
        return
    finally:
        # sqlite3 takes None for "no handler"; aiosqlite's hint does not say so.
        await db.set_progress_handler(None, _PROGRESS_STEPS)  # type: ignore[arg-type]
    if rows != [("ok",)]:
        raise sqlite3.DatabaseError(str(rows[0][0]) if rows else "quick_check failed")
    # The check read every page into this connection's cache; let them go again (a
    # bureau holds hundreds of connections: up to 2 MB each, kept for nothing). The
    # pages a step needs come back from the OS's file cache.
    await db.execute("PRAGMA shrink_memory")


def _statements(sql: str) -> list[str]:
    """A migration script as single statements (executescript would commit on its own)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        statements.append(buffer.strip())
    return statements


async def _writer_version(db: aiosqlite.Connection) -> str | None:
    """The program version that last opened this database, if one recorded itself."""
    try:
        rows = list(await db.execute_fetchall("SELECT version FROM written_by WHERE id = 1"))
    except sqlite3.OperationalError:  # written before programs recorded themselves
        return None
    return str(rows[0][0]) if rows else None


async def _refuse_newer(db: aiosqlite.Connection, name: str, newest: int) -> None:
    rows = list(await db.execute_fetchall("SELECT MAX(version) FROM schema_version"))
    current = rows[0][0] or 0
    if current > newest:
        writer = await _writer_version(db)
        raise StoreError(
            f"the {name} was written by a newer vertrouwd"
            f"{f' ({writer})' if writer else ''}, with schema version {current}; this is"
            f" vertrouwd {program_version()}, which knows schema versions up to {newest}"
            " and does not migrate a database back. Run the newer version again (or"
            " restore a backup made before the upgrade); the database was left as it was."
        )


async def apply_migrations(
    db: aiosqlite.Connection, migrations: tuple[tuple[int, str], ...], name: str = "database"
) -> int:
    """Bring the schema up to the newest migration; returns the version now in force.

    Each migration checks, inside its own write transaction, whether it was applied,
    so two processes starting at once apply each migration once, one after the other.
    A migration is applied by its own number, not by being above the highest one: a
    lower number that arrived later still runs. A database a newer program has
    migrated further is refused, never migrated back.
    """
    await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    newest = max(version for version, _ in migrations)
    await _refuse_newer(db, name, newest)
    for version, sql in sorted(migrations):
        try:
            await db.execute("BEGIN IMMEDIATE")
            done = await db.execute_fetchall(
                "SELECT 1 FROM schema_version WHERE version = ?", (version,)
            )
            if list(done):
                await db.rollback()
                continue
            for statement in _statements(sql):
                await db.execute(statement)
            await db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            await db.commit()
        except BaseException as exc:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    await db.rollback()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"migration {version} failed: {exc}") from exc
            raise
    await _record_writer(db)
    return newest


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


async def open_migrated(
    path: Path,
    synchronous: str,
    migrations: tuple[tuple[int, str], ...],
    fingerprint: str,
    opens: KeyProbe | None = None,
    name: str = "",
) -> aiosqlite.Connection:
    """``open_database``, the schema brought up to date, and the key checked: the
    database must belong to the key of ``fingerprint``. Nothing stays open on failure."""
    from bot.store.key_record import bind_key

    db = await open_database(path, synchronous)
    try:
        await apply_migrations(db, migrations, name or f"database {path.name}")
        await bind_key(db, path, fingerprint, opens)
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error, OSError):
            await db.close()
        if isinstance(exc, sqlite3.Error | OSError | UnicodeDecodeError):
            raise damaged(path, exc) from exc
        raise
    return db
