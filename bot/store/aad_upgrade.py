"""Sealing rows again under newer associated data (after a migration that binds more).

A migration marks the rows written before it ``aad = 1``; this seals each of them
again under the new associated data and marks it 2, in one transaction. A row that
does not open with this key file stays as it was (and unreadable, as it already is),
to be sealed again at a later start once the right key file is back.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import aiosqlite

from bot.keys.crypto import DecryptionError, FieldCipher
from bot.store.base import StoreError

log = logging.getLogger(__name__)

Aad = Callable[[tuple[str, ...]], bytes]


async def reseal_under_new_aad(
    db: aiosqlite.Connection,
    cipher: FieldCipher,
    table: str,
    key: str,
    columns: tuple[str, ...],
    old: Aad,
    new: Aad,
) -> int:
    """Seal ``table``'s old rows again; ``columns`` are what the AAD functions get."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {key}, sealed, {', '.join(columns)} FROM {table}"
            " WHERE aad = 1 AND sealed IS NOT NULL"
        )
    )
    resealed = unreadable = 0
    try:
        await db.execute("BEGIN IMMEDIATE")
        for row_key, sealed, *values in rows:
            fields = tuple(str(v) for v in values)
            try:
                plain = cipher.open(sealed, old(fields))
            except DecryptionError:
                unreadable += 1
                continue
            await db.execute(
                f"UPDATE {table} SET sealed = ?, aad = 2 WHERE {key} = ?",
                (cipher.seal(plain, new(fields)), row_key),
            )
            resealed += 1
        await db.execute(f"UPDATE {table} SET aad = 2 WHERE aad = 1 AND sealed IS NULL")
        await db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            await db.rollback()
        raise StoreError(f"sealing {table} again failed: {type(exc).__name__}") from exc
    if resealed or unreadable:
        log.info(
            "%s: %d rows sealed again, %d left (another key file)", table, resealed, unreadable
        )
    return resealed
