"""The embedded default store: SQLite in WAL mode, every personal field sealed."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from bot.keys.crypto import DecryptionError, FieldCipher, UserKey
from bot.sinks.base import Receipt
from bot.store.aad_upgrade import reseal_under_new_aad
from bot.store.base import (
    CaseRefTaken,
    ConversationRecord,
    DeliveredHandoff,
    NewHandoff,
    OpenLine,
    PendingHandoff,
    StepBase,
    TextChange,
    UnreadableRecord,
    VersionConflict,
)
from bot.store.connection import open_database, open_migrated
from bot.store.group_commit import BatchedLookup, GroupCommit
from bot.store.key_record import opens_any
from bot.store.line_records import LineStep
from bot.store.migrations import MIGRATIONS
from bot.store.ops_queries import OpsQueries
from bot.store.reseal import Resealed, count_old, reseal_columns, unknown_fields_with
from bot.store.retention import RetentionQueries
from bot.store.row_cache import CachedRow, RowCache
from bot.store.sealed_fields import (
    KEYED_HASH_COLUMNS,
    SEALED_COLUMNS,
    case_aad,
    conversation_aad,
    old_case_aad,
    old_outbox_aad,
    outbox_aad,
)
from bot.store.statistics import StatisticsQueries
from bot.store.web_screens import WebScreenQueries

log = logging.getLogger(__name__)

_UNREADABLE_RETRY_SECONDS = 3600.0

_UPSERT_CONVERSATION = """
    INSERT INTO conversations (user_key, state, lang, sealed, updated_at, version)
    VALUES (:user, :state, :lang, :sealed, :now, 1)
    ON CONFLICT (user_key) DO UPDATE SET
        state = excluded.state, lang = excluded.lang,
        sealed = excluded.sealed, updated_at = excluded.updated_at, version = version + 1
"""
# The line the step saw is still as it was (an adviser may have closed it meanwhile).
_LINE_UNCHANGED = (
    "(:line_ref IS NULL OR EXISTS"
    " (SELECT 1 FROM cases WHERE case_ref = :line_ref AND version = :line_version))"
)
# A step that read no row: only if there still is none.
_INSERT_CONVERSATION = f"""
    INSERT INTO conversations (user_key, state, lang, sealed, updated_at, version)
    SELECT :user, :state, :lang, :sealed, :now, 1 WHERE {_LINE_UNCHANGED}
    ON CONFLICT (user_key) DO NOTHING
"""
# A step that read version :version: only if that is still the version stored.
_UPDATE_CONVERSATION = f"""
    UPDATE conversations SET state = :state, lang = :lang, sealed = :sealed,
        updated_at = :now, version = version + 1
    WHERE user_key = :user AND version = :version AND {_LINE_UNCHANGED}
"""
# The conversation and the person's open line, read together; a row for every key.
_READ_STEP = """
    WITH k (user_key) AS (VALUES {rows})
    SELECT k.user_key, c.state, c.lang, c.sealed, c.version, c.updated_at, o.case_ref, o.version
    FROM k LEFT JOIN conversations c ON c.user_key = k.user_key
    LEFT JOIN cases o ON o.case_ref = (
        SELECT case_ref FROM cases WHERE owner_key = k.user_key AND status = 'open'
        ORDER BY created_at DESC LIMIT 1)
"""
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


def _conversation_sql(base: StepBase | None) -> str:
    if base is None:
        return _UPSERT_CONVERSATION
    return _UPDATE_CONVERSATION if base.version else _INSERT_CONVERSATION


def _line_after(
    base: StepBase | None, handoff: NewHandoff | None, line: LineStep | None
) -> OpenLine | None:
    """The person's open line once the step is saved (case rows start at version 1)."""
    if handoff is not None and handoff.case is not None:
        return OpenLine(handoff.case_ref, 1)
    before = base.line if base is not None else None
    if line is None or before is None:
        return before
    return None if line.close_as else OpenLine(before.case_ref, before.version + 1)


_TEXT_CHANGE_COLUMNS = "id, at, actor, lang, key, before, after"


class SqliteStore(StatisticsQueries, RetentionQueries, WebScreenQueries, OpsQueries):
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
        self._step_reads = BatchedLookup(db, _READ_STEP)
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
            tx_db = await open_database(path, transactions_sync, isolation_level="IMMEDIATE")
        except BaseException:
            await db.close()
            raise
        return cls(db, tx_db, cipher)

    async def load_conversation(self, user: UserKey) -> ConversationRecord | None:
        return (await self.load_step(user)).record

    async def load_step(self, user: UserKey) -> StepBase:
        """The conversation and the open line with their versions: from the cache when
        this process has the row, else in one read."""
        row = self._cache.get(user)
        if row is None:
            found = await self._step_reads.get(user)
            assert found is not None  # the read has a row for every key
            state, lang, sealed, version, updated_at, line_ref, line_version = found
            line = OpenLine(line_ref, line_version) if line_ref is not None else None
            row = CachedRow(state, lang, sealed, version or 0, updated_at or 0.0, line)
            self._cache.put(user, row)
        if row.sealed is None or row.state is None or row.lang is None:
            return StepBase(None, 0, row.line)
        try:
            data = orjson.loads(self._cipher.open(row.sealed, conversation_aad(user)))
        except (DecryptionError, ValueError) as exc:  # orjson's error is a ValueError
            self._cache.drop(user)
            log.error("a stored conversation cannot be read (%s)", type(exc).__name__)
            raise UnreadableRecord("a stored conversation cannot be read") from exc
        return StepBase(ConversationRecord(row.state, row.lang, data), row.version, row.line)

    def _conversation_params(
        self, user: UserKey, record: ConversationRecord, now: float, base: StepBase | None
    ) -> dict[str, Any]:
        line = base.line if base is not None else None
        return {
            "user": user,
            "state": record.state,
            "lang": record.lang,
            "sealed": self._cipher.seal(orjson.dumps(record.data), conversation_aad(user)),
            "now": now,
            "version": base.version if base is not None else 0,
            "line_ref": line.case_ref if line else None,
            "line_version": line.version if line else None,
        }

    async def save_step(
        self,
        user: UserKey,
        record: ConversationRecord | None,
        handoff: NewHandoff | None,
        now: float,
        line: LineStep | None = None,
        base: StepBase | None = None,
    ) -> None:
        """With ``base`` (what the step read), the save only happens if those rows are
        still as read, else VersionConflict; without it, the save is unconditional."""
        try:
            if record is not None and handoff is None and line is None:
                params = self._conversation_params(user, record, now, base)
                if not await self._conversation_writes.write(_conversation_sql(base), params):
                    raise VersionConflict("the conversation changed since it was read")
                self._remember(user, params, base.line if base else None, base)
                return
            # On the transaction connection the first write begins the transaction.
            async with self._transaction():
                written = await self._write_step(user, record, handoff, now, line, base)
        except BaseException:
            self._cache.drop(user)
            raise
        if record is None:
            self._cache.drop(user)
            async with self._write_lock:
                # The WAL still holds earlier versions of the erased rows: fold it into
                # the database file (where secure_delete zeroed them) and empty it.
                await self._tx_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        assert written is not None
        self._remember(user, written, _line_after(base, handoff, line), base)

    def _remember(
        self,
        user: UserKey,
        params: dict[str, Any],
        line: OpenLine | None,
        base: StepBase | None,
    ) -> None:
        if base is None:
            self._cache.drop(user)  # the version written is not known here
            return
        row = CachedRow(
            params["state"],
            params["lang"],
            params["sealed"],
            base.version + 1 if base.version else 1,
            params["now"],
            line,
        )
        self._cache.put(user, row)

    async def _write_step(
        self,
        user: UserKey,
        record: ConversationRecord | None,
        handoff: NewHandoff | None,
        now: float,
        line: LineStep | None,
        base: StepBase | None,
    ) -> dict[str, Any] | None:
        # First the condition (the rows are as the step read them), then the writes:
        # the line step raises the case's version.
        params = None
        if record is None:
            if base is not None:
                await self._check_unchanged(user, base)
        else:
            params = self._conversation_params(user, record, now, base)
            await self._conditional(_conversation_sql(base), params)
        if line is not None:
            line_version = base.line.version if base and base.line else None
            await self._write_line_step(self._tx_db, user, line, now, line_version)
        if record is None:
            await self._tx_db.execute("DELETE FROM conversations WHERE user_key = ?", (user,))
            await self._tx_db.execute(
                "DELETE FROM outbox WHERE owner_key = ? AND delivered_at IS NULL", (user,)
            )
            await self._withdraw_cases(self._tx_db, user, now)
        if handoff is not None:
            sealed = self._cipher.seal(
                orjson.dumps(handoff.payload), outbox_aad(handoff.case_ref, handoff.adviser_id)
            )
            try:
                await self._tx_db.execute(
                    "INSERT INTO outbox (case_ref, owner_key, adviser_id, sealed, created_at,"
                    " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (handoff.case_ref, user, handoff.adviser_id, sealed, now, now),
                )
            except sqlite3.IntegrityError as exc:
                raise CaseRefTaken(handoff.case_ref) from exc
            if handoff.case is not None:
                await self._insert_case(
                    self._tx_db, user, handoff.case_ref, handoff.adviser_id, handoff.case, now
                )
            if handoff.tally is not None:
                await self._add_tally(self._tx_db, handoff.tally)
        return params

    async def _conditional(self, sql: str, params: dict[str, Any]) -> None:
        cursor = await self._tx_db.execute(sql, params)
        if cursor.rowcount < 1:
            raise VersionConflict("the conversation changed since it was read")

    async def _check_unchanged(self, user: UserKey, base: StepBase) -> None:
        line = base.line
        rows = await self._tx_db.execute_fetchall(
            f"SELECT (SELECT version FROM conversations WHERE user_key = :user), {_LINE_UNCHANGED}",
            {
                "user": user,
                "line_ref": line.case_ref if line else None,
                "line_version": line.version if line else None,
            },
        )
        version, line_unchanged = next(iter(rows))
        if (version or 0) != base.version or not line_unchanged:
            raise VersionConflict("the conversation changed since it was read")

    async def due_handoffs(self, now: float, limit: int) -> list[PendingHandoff]:
        rows = await self._db.execute_fetchall(
            "SELECT id, case_ref, adviser_id, sealed, attempts, created_at FROM outbox"
            " WHERE delivered_at IS NULL AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (now, limit),
        )
        due: list[PendingHandoff] = []
        for row_id, case_ref, adviser_id, sealed, attempts, created_at in rows:
            try:
                payload = orjson.loads(self._cipher.open(sealed, outbox_aad(case_ref, adviser_id)))
            except DecryptionError:
                # Kept, not dropped: an admin may restore the right key file.
                log.error("handoff %s cannot be decrypted; check the key file", case_ref)
                await self.defer_handoff(row_id, now + _UNREADABLE_RETRY_SECONDS, "undecryptable")
                continue
            due.append(PendingHandoff(row_id, case_ref, adviser_id, payload, attempts, created_at))
        return due

    async def _scalar(self, sql: str) -> Any:
        rows = list(await self._db.execute_fetchall(sql))
        return rows[0][0]

    async def next_attempt_at(self) -> float | None:
        value = await self._scalar(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL"
        )
        return float(value) if value is not None else None

    async def mark_delivered(self, handoff_id: int, receipt: Receipt, now: float) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE outbox SET delivered_at = ?, delivery_ref = ?, delivered_to = ?,"
                " sealed = NULL, owner_key = NULL, last_error = NULL WHERE id = ?",
                (now, receipt.ref, receipt.target, handoff_id),
            )
            await self._link_thread(handoff_id, receipt, now)

    async def delivered_handoff(self, case_ref: str) -> DeliveredHandoff | None:
        rows = list(
            await self._db.execute_fetchall(
                "SELECT adviser_id, created_at, delivered_at, delivery_ref, delivered_to"
                " FROM outbox WHERE case_ref = ? AND delivered_at IS NOT NULL",
                (case_ref,),
            )
        )
        if not rows:
            return None
        adviser_id, created_at, delivered_at, ref, target = rows[0]
        return DeliveredHandoff(
            case_ref, adviser_id, created_at, delivered_at, Receipt(ref, target)
        )

    async def defer_handoff(self, handoff_id: int, retry_at: float, reason: str) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                " WHERE id = ? AND delivered_at IS NULL",
                (retry_at, reason, handoff_id),
            )

    async def pending_count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"))

    async def conversation_count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM conversations"))

    async def purge_idle_conversations(self, idle_since: float) -> int:
        self._cache.drop_idle(idle_since)
        async with self._write_lock:
            cursor = await self._db.execute(
                "DELETE FROM conversations WHERE updated_at < ?", (idle_since,)
            )
            return cursor.rowcount

    async def record_text_change(
        self, actor: str, lang: str, key: str, before: str | None, after: str, now: float
    ) -> int:
        async with self._write_lock:
            cursor = await self._db.execute(
                "INSERT INTO text_changes (at, actor, lang, key, before, after)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now, actor, lang, key, before, after),
            )
            return int(cursor.lastrowid or 0)

    async def text_changes(self, key: str, lang: str | None = None) -> list[TextChange]:
        rows = await self._db.execute_fetchall(
            f"SELECT {_TEXT_CHANGE_COLUMNS} FROM text_changes"
            " WHERE key = ? AND (? IS NULL OR lang = ?) ORDER BY id DESC",
            (key, lang, lang),
        )
        return [TextChange(*row) for row in rows]

    async def text_change(self, change_id: int) -> TextChange | None:
        rows = list(
            await self._db.execute_fetchall(
                f"SELECT {_TEXT_CHANGE_COLUMNS} FROM text_changes WHERE id = ?", (change_id,)
            )
        )
        return TextChange(*rows[0]) if rows else None

    async def last_delivery_at(self) -> float | None:
        value = await self._scalar("SELECT MAX(delivered_at) FROM outbox")
        return float(value) if value is not None else None

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
