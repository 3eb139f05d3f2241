"""Re-sealing stored fields with the current data key (`vertrouwd keys rotate`).

A table is walked in the order of its key, in batches, each batch one short
transaction: the running bot keeps writing in between. A row is replaced only if it
still holds what was read, so a concurrent change is never overwritten (the next
pass takes the new value, which the bot sealed with the current key anyway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.keys.crypto import DecryptionError, FieldCipher


@dataclass(frozen=True)
class SealedColumn:
    table: str
    key: str  # the row's primary key: the order of the walk
    aad_columns: tuple[str, ...]  # what the associated data is made of
    aad: Callable[..., bytes]
    column: str = "sealed"


@dataclass
class Resealed:
    resealed: int = 0
    unreadable: int = 0  # opened by no key of the key file: left as they are

    def __iadd__(self, other: Resealed) -> Resealed:
        self.resealed += other.resealed
        self.unreadable += other.unreadable
        return self


def _old(column: SealedColumn) -> str:
    return f"{column.column} IS NOT NULL AND substr({column.column}, 1, 2) != ?"


async def reseal_columns(
    db: aiosqlite.Connection,
    lock: asyncio.Lock,
    cipher: FieldCipher,
    columns: Sequence[SealedColumn],
    batch: int,
) -> Resealed:
    done = Resealed()
    for column in columns:
        done += await _reseal(db, lock, cipher, column, batch)
    return done


async def _reseal(
    db: aiosqlite.Connection,
    lock: asyncio.Lock,
    cipher: FieldCipher,
    column: SealedColumn,
    batch: int,
) -> Resealed:
    done = Resealed()
    after: Any = None
    fields = ", ".join(column.aad_columns)
    while True:
        rows = list(
            await db.execute_fetchall(
                f"SELECT {column.key}, {fields}, {column.column} FROM {column.table}"
                f" WHERE {_old(column)} AND (? IS NULL OR {column.key} > ?)"
                f" ORDER BY {column.key} LIMIT ?",
                (cipher.prefix, after, after, batch),
            )
        )
        if not rows:
            return done
        async with lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                for key, *aad_values, sealed in rows:
                    aad = column.aad(*aad_values)
                    try:
                        fresh = cipher.seal(cipher.open(sealed, aad), aad)
                    except DecryptionError:
                        done.unreadable += 1
                        continue
                    cursor = await db.execute(
                        f"UPDATE {column.table} SET {column.column} = ?"
                        f" WHERE {column.key} = ? AND {column.column} = ?",
                        (fresh, key, sealed),
                    )
                    done.resealed += cursor.rowcount
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
        after = rows[-1][0]


async def count_old(
    db: aiosqlite.Connection, cipher: FieldCipher, columns: Sequence[SealedColumn]
) -> int:
    """Fields not sealed with the current key (what keeps an old key in use)."""
    total = 0
    for column in columns:
        rows = list(
            await db.execute_fetchall(
                f"SELECT COUNT(*) FROM {column.table} WHERE {_old(column)}", (cipher.prefix,)
            )
        )
        total += int(rows[0][0])
    return total


# A sealed field is at least its version, its nonce and its tag long.
_SEALED_MIN_BYTES = 2 + 12 + 16


async def unknown_fields_with(
    db: aiosqlite.Connection,
    prefixes: Sequence[bytes],
    known: Sequence[SealedColumn],
    hashes: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """Columns outside ``known`` that hold values which look sealed with one of these
    key versions: a kind of record this rotation does not know how to re-seal. Retiring
    the key would leave them unreadable, so the rotation stops instead. ``hashes``: the
    (table, column) of keyed hashes, which may look like one by chance."""
    registered = {(c.table, c.column) for c in known} | set(hashes)
    found = []
    tables = await db.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    marks = ",".join("?" * len(prefixes))
    for (table,) in tables:
        for column in await db.execute_fetchall(f"SELECT name FROM pragma_table_info('{table}')"):
            name = column[0]
            if (table, name) in registered:
                continue
            rows = list(
                await db.execute_fetchall(
                    f'SELECT COUNT(*) FROM "{table}" WHERE typeof("{name}") = \'blob\''
                    f' AND length("{name}") >= ? AND substr("{name}", 1, 2) IN ({marks})',
                    (_SEALED_MIN_BYTES, *prefixes),
                )
            )
            if rows[0][0]:
                found.append(f"{table}.{name}")
    return found
