"""The embedded default store: SQLite in WAL mode, every personal field sealed.

SqliteStore is put together here from one mixin per kind of record, all sharing its
connections, cipher and write lock (bot/store/core.py): a person's steps (steps.py),
the outbox (handoffs.py), the line's cases, relays and events (cases.py, relays.py,
case_events.py), the report's counts (statistics.py), retention (retention.py), the
texts' audit log (text_changes.py), the web chat's screens (web_screens.py) and the
operator's figures (ops_queries.py). Opening, key rotation and closing are here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import aiosqlite

from bot.keys.crypto import FieldCipher
from bot.store.aad_upgrade import reseal_under_new_aad
from bot.store.connection import open_database, open_migrated
from bot.store.group_commit import BatchedLookup, GroupCommit
from bot.store.key_record import opens_any
from bot.store.migrations import MIGRATIONS
from bot.store.ops_queries import OpsQueries
from bot.store.report_advice import ReportAdviceQueries
from bot.store.reseal import Resealed, count_old, reseal_columns, unknown_fields_with
from bot.store.retention import RetentionQueries
from bot.store.row_cache import RowCache
from bot.store.sealed_fields import (
    KEYED_HASH_COLUMNS,
    SEALED_COLUMNS,
    case_aad,
    conversation_aad,
    old_case_aad,
    old_outbox_aad,
    outbox_aad,
)
from bot.store.steps import READ_STEP, StepQueries
from bot.store.text_changes import TextChangeQueries
from bot.store.web_screens import WebScreenQueries

_CACHED_CONVERSATIONS = 4096

# How each durability setting maps onto SQLite's synchronous pragma, for the
# connection of ordinary steps and for the one of transactions (confirmed intakes,
# erasures). In WAL mode NORMAL survives a killed process (the OS keeps the written
# pages); FULL also survives a power cut, at the cost of an fsync per commit.
_SYNCHRONOUS = {
    "os-buffered": ("NORMAL", "NORMAL"),
    "handoff-synced": ("NORMAL", "FULL"),
    "all-synced": ("FULL", "FULL"),
}


class SqliteStore(
    StepQueries,
    RetentionQueries,
    TextChangeQueries,
    WebScreenQueries,
    OpsQueries,
    ReportAdviceQueries,
):
    def __init__(
        self,
        db: aiosqlite.Connection,
        tx_db: aiosqlite.Connection,
        cipher: FieldCipher,
        cached: int = _CACHED_CONVERSATIONS,
    ) -> None:
        self._db = db
        # Multi-statement steps go through their own connection, synced as the
        # durability setting asks, so the common step's connection never waits on it.
        self._tx_db = tx_db
        self._cipher = cipher
        # Both connections write to one file: writes take turns here, so neither
        # ever waits on SQLite's own lock (nor runs inside the other's transaction).
        self._write_lock = asyncio.Lock()
        self._conversation_writes = GroupCommit(db, self._write_lock)
        self._step_reads = BatchedLookup(db, READ_STEP)
        # Sealed rows as stored: a step on a cached row needs no read, only its
        # conditional save (a stale row loses there and is read again).
        self._cache = RowCache(cached)

    @classmethod
    async def open(cls, path: Path, cipher: FieldCipher, durability: str) -> SqliteStore:
        steps_sync, transactions_sync = _SYNCHRONOUS[durability]

        async def opens(db: aiosqlite.Connection) -> bool:
            rows = list(
                await db.execute_fetchall("SELECT user_key, sealed FROM conversations LIMIT 5")
            )
            return opens_any(cipher, [(row[1], conversation_aad(row[0])) for row in rows])

        db = await open_migrated(path, steps_sync, MIGRATIONS, cipher.fingerprint, opens)
        try:
            await reseal_under_new_aad(
                db,
                cipher,
                "outbox",
                "id",
                ("case_ref", "adviser_id"),
                lambda r: old_outbox_aad(r[0]),
                lambda r: outbox_aad(r[0], r[1]),
            )
            await reseal_under_new_aad(
                db,
                cipher,
                "cases",
                "case_ref",
                ("case_ref", "adviser_id", "channel"),
                lambda r: old_case_aad(r[0]),
                lambda r: case_aad(r[0], r[1], r[2]),
            )
            # The same file, checked a moment ago through the first connection.
            tx_db = await open_database(
                path, transactions_sync, isolation_level="IMMEDIATE", check=False
            )
        except BaseException:
            await db.close()
            raise
        return cls(db, tx_db, cipher)

    async def reseal(self, batch: int = 200) -> Resealed:
        """Seal every field again with the current data key, in batches."""
        return await reseal_columns(self._db, self._write_lock, self._cipher, SEALED_COLUMNS, batch)

    async def sealed_with_old_keys(self) -> int:
        return await count_old(self._db, self._cipher, SEALED_COLUMNS)

    async def unknown_sealed_fields(self, prefixes: Sequence[bytes]) -> list[str]:
        return await unknown_fields_with(self._db, prefixes, SEALED_COLUMNS, KEYED_HASH_COLUMNS)

    async def close(self) -> None:
        async with self._write_lock:
            await self._tx_db.close()
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await self._db.close()
