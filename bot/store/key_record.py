"""Which key file a database belongs to: its fingerprint, recorded once, never the key.

A database opened with another key (a lost key file replaced by a new one, or the
wrong file) is refused at once, before anything is read or written under it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

from bot.keys.crypto import DecryptionError, FieldCipher
from bot.store.base import StoreError

KEY_RECORD_MIGRATION = (
    20,
    """
    -- The fingerprint of the key file the database's sealed fields belong to.
    CREATE TABLE key_fingerprint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL,
        recorded_at REAL NOT NULL
    );
    """,
)


def opens_any(cipher: FieldCipher, sealed: list[tuple[bytes, bytes]]) -> bool:
    """Whether ``cipher`` is the key of these (blob, associated data): one that opens is
    enough (a damaged row says nothing about the key), and none to try is no objection."""
    for blob, aad in sealed:
        try:
            cipher.open(blob, aad)
        except DecryptionError:
            continue
        return True
    return not sealed


class KeyMismatch(StoreError):
    """The key file is not the one this database was sealed with."""


async def recorded_fingerprint(db: aiosqlite.Connection) -> str | None:
    rows = list(await db.execute_fetchall("SELECT fingerprint FROM key_fingerprint"))
    return str(rows[0][0]) if rows else None


# Whether the data already in a database opens with the key (one sealed row tried).
KeyProbe = Callable[[aiosqlite.Connection], Awaitable[bool]]


async def bind_key(
    db: aiosqlite.Connection, path: Path, fingerprint: str, opens: KeyProbe | None = None
) -> None:
    """Record ``fingerprint`` on first use; refuse a database recorded with another.

    A database from before fingerprints were kept is recorded only if its data opens
    with the key (``opens``). ``db`` is an autocommit connection; two first starts
    record the same key once.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        cursor = await db.execute(
            "INSERT INTO key_fingerprint (id, fingerprint, recorded_at) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (fingerprint, time.time()),
        )
        foreign = cursor.rowcount == 1 and opens is not None and not await opens(db)
        stored = await recorded_fingerprint(db)
    except BaseException:
        await db.rollback()
        raise
    if foreign:
        await db.rollback()
        raise KeyMismatch(
            f"database {path} holds data that does not open with this key file; put its"
            " own key file back (storage.key_file); no data was read or changed"
        )
    await db.commit()
    if stored != fingerprint:
        raise KeyMismatch(
            f"database {path} was sealed with another key file (fingerprint"
            f" {str(stored)[:16]}, not {fingerprint[:16]}); put its own key file back"
            " (storage.key_file); nothing was read or changed"
        )
