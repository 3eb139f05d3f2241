"""SQL for a person's step: their conversation and open line read with the versions
of both (from the cache of sealed rows when this process has them), and saved in one
write, or in one transaction with the handoff, the case and the line step it brings,
or erased with everything about the person.

A mixin of SqliteStore (bot/store/core.py), over the outbox and the counts (and so
the cases and relays) that the step's transaction writes to.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from bot.keys.crypto import DecryptionError, UserKey
from bot.store.base import (
    ConversationRecord,
    NewHandoff,
    OpenLine,
    StepBase,
    UnreadableRecord,
    VersionConflict,
)
from bot.store.group_commit import BatchedLookup, GroupCommit
from bot.store.handoffs import HandoffQueries
from bot.store.line_records import LineStep
from bot.store.row_cache import CachedRow, RowCache
from bot.store.sealed_fields import conversation_aad
from bot.store.statistics import StatisticsQueries

log = logging.getLogger(__name__)

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
READ_STEP = """
    WITH k (user_key) AS (VALUES {rows})
    SELECT k.user_key, c.state, c.lang, c.sealed, c.version, c.updated_at, o.case_ref, o.version
    FROM k LEFT JOIN conversations c ON c.user_key = k.user_key
    LEFT JOIN cases o ON o.case_ref = (
        SELECT case_ref FROM cases WHERE owner_key = k.user_key AND status = 'open'
        ORDER BY created_at DESC LIMIT 1)
"""


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


class StepQueries(HandoffQueries, StatisticsQueries):
    _conversation_writes: GroupCommit
    _step_reads: BatchedLookup
    _cache: RowCache

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
            await self._insert_handoff(self._tx_db, user, handoff, now)
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

    async def conversation_count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM conversations"))

    async def purge_idle_conversations(self, idle_since: float) -> int:
        self._cache.drop_idle(idle_since)
        async with self._write_lock:
            cursor = await self._db.execute(
                "DELETE FROM conversations WHERE updated_at < ?", (idle_since,)
            )
            return cursor.rowcount
