"""SQL for retention: silent lines closed, ended cases unlinked from the person and
later deleted, old audit entries and adviser events dropped, and the adviser's posts
of ended cases found for redaction.

A mixin of SqliteStore (bot/store/core.py), over the relays it queues the closing
notices on.
"""

from __future__ import annotations

import aiosqlite

from bot.sinks.base import CasePosts
from bot.store.cases import UNLESS_TERMS
from bot.store.line_records import (
    CLOSED,
    OPEN,
    STOPPED,
    TO_ADVISER,
    TO_EMPLOYEE,
    WITHDRAWN,
    PurgeCounts,
    RelayNote,
)
from bot.store.relays import RelayQueries

_ENDED = (CLOSED, STOPPED, WITHDRAWN)


class RetentionQueries(RelayQueries):
    async def purge_lines(
        self,
        now: float,
        idle_since: float,
        closed_before: float,
        keep_rows_after: float,
        audit_before: float,
        require_redacted: bool = False,
    ) -> PurgeCounts:
        """Close silent lines, unlink ended cases past their term, delete what is left
        of them past ``keep_rows_after`` (kept that long only for redaction, and with
        ``require_redacted`` not before it happened), and old audit entries. Returns
        the counts; never any content."""
        async with self._transaction() as db:
            counts = await self._purge(
                db, now, idle_since, closed_before, keep_rows_after, audit_before, require_redacted
            )
        if counts.links_erased or counts.cases_deleted:
            async with self._write_lock:
                # Earlier versions of the purged rows are still in the WAL: fold it into
                # the database file (where secure_delete zeroed them) and empty it.
                await self._tx_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return counts

    async def _purge(
        self,
        db: aiosqlite.Connection,
        now: float,
        idle_since: float,
        closed_before: float,
        keep_rows_after: float,
        audit_before: float,
        require_redacted: bool,
    ) -> PurgeCounts:
        idle = list(
            await db.execute_fetchall(
                "SELECT case_ref FROM cases WHERE status = ? AND last_activity_at < ?",
                (OPEN, idle_since),
            )
        )
        for (case_ref,) in idle:
            await db.execute(
                "UPDATE cases SET version = version + 1, status = ?, closed_at = ?"
                " WHERE case_ref = ?",
                (CLOSED, now, case_ref),
            )
            await db.execute(
                "DELETE FROM timers WHERE case_ref = ? AND fired_at IS NULL" + UNLESS_TERMS,
                (case_ref,),
            )
            both_sides = (
                RelayNote(TO_EMPLOYEE, "closed_idle"),
                RelayNote(TO_ADVISER, "closed_idle"),
            )
            await self._insert_notes(db, case_ref, both_sides, now)
        ended = ",".join("?" * len(_ENDED))
        unlinked = await db.execute(
            "UPDATE cases SET version = version + 1, owner_key = NULL, sealed = NULL"
            f" WHERE status IN ({ended}) AND closed_at < ?"
            " AND (owner_key IS NOT NULL OR sealed IS NOT NULL)",
            (*_ENDED, closed_before),
        )
        # Undelivered notes of an unlinked case can no longer reach the employee.
        await db.execute(
            # Through the index of waiting relays, never a scan of every case.
            "DELETE FROM relays WHERE delivered_at IS NULL AND direction = ? AND EXISTS"
            " (SELECT 1 FROM cases c WHERE c.case_ref = relays.case_ref AND c.sealed IS NULL)",
            (TO_EMPLOYEE,),
        )
        expired = (
            f"SELECT case_ref FROM cases WHERE status IN ({ended}) AND closed_at < ?"
            " AND (? = 0 OR redacted_at IS NOT NULL OR thread_root IS NULL)"
        )
        await db.execute(
            f"DELETE FROM outbox WHERE delivered_at IS NOT NULL AND case_ref IN ({expired})",
            (*_ENDED, keep_rows_after, require_redacted),
        )
        deleted = await db.execute(
            f"DELETE FROM cases WHERE case_ref IN ({expired})",
            (*_ENDED, keep_rows_after, require_redacted),
        )
        audit = await db.execute("DELETE FROM text_changes WHERE at < ?", (audit_before,))
        events = await db.execute("DELETE FROM adviser_events WHERE at < ?", (keep_rows_after,))
        return PurgeCounts(
            lines_closed=len(idle),
            links_erased=unlinked.rowcount,
            cases_deleted=deleted.rowcount,
            audit_entries=audit.rowcount,
            adviser_events=events.rowcount,
        )

    async def cases_to_redact(self, closed_before: float) -> list[CasePosts]:
        rows = await self._db.execute_fetchall(
            "SELECT case_ref, room_id, thread_root FROM cases WHERE status IN (?, ?, ?)"
            " AND closed_at < ? AND redacted_at IS NULL AND thread_root IS NOT NULL",
            (*_ENDED, closed_before),
        )
        found = []
        for case_ref, room_id, root in rows:
            events = await self._db.execute_fetchall(
                "SELECT delivery_ref FROM relays WHERE case_ref = ? AND direction = ?"
                " AND delivery_ref IS NOT NULL ORDER BY id",
                (case_ref, TO_ADVISER),
            )
            found.append(CasePosts(case_ref, room_id, root, (root, *(str(e[0]) for e in events))))
        return found

    async def mark_redacted(self, case_ref: str, now: float) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE cases SET version = version + 1, redacted_at = ? WHERE case_ref = ?",
                (now, case_ref),
            )
