"""SQL for the line after a handoff: cases, relays both ways, timers, retention.

A mixin of SqliteStore: it shares the store's connections, cipher and write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiosqlite

from bot.keys.crypto import DecryptionError, FieldCipher, UserKey
from bot.sinks.base import CasePosts, Receipt
from bot.store.base import StoreError, VersionConflict
from bot.store.line_records import (
    CLOSED,
    OPEN,
    STOPPED,
    TO_ADVISER,
    TO_EMPLOYEE,
    WITHDRAWN,
    AdviserStep,
    CaseContact,
    CaseInfo,
    DueTimer,
    LineStep,
    NewCase,
    PendingRelay,
    PurgeCounts,
    RelayNote,
    Timer,
)
from bot.store.sealed_fields import open_contact, relay_aad, seal_contact, seal_note

_CASE_COLUMNS = (
    "case_ref, adviser_id, channel, status, whistleblower, created_at, delivered_at,"
    " thread_root, room_id, adviser_replied_at, last_activity_at, closed_at, version"
)
_ENDED = (CLOSED, STOPPED, WITHDRAWN)
_UNREADABLE_RETRY_SECONDS = 3600.0
log = logging.getLogger(__name__)

# The whistleblower act's terms bind the organisation, not the chat: closing a line
# (by either side, or after a silence) leaves these reminders in place.
_UNLESS_TERMS = " AND kind NOT IN ('ack_reminder', 'feedback_reminder')"


def _deliverable(channels: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """The relays (``r``, joined with their case ``c``) that this process can send:
    to the adviser once the case's thread exists, to the employee while the case still
    links to them and only on the channels named. SQL and its parameters."""
    served = tuple(sorted(set(channels)))
    marks = ",".join("?" * len(served)) or "NULL"
    sql = (
        "r.delivered_at IS NULL AND ((r.direction = ? AND c.thread_root IS NOT NULL)"
        f" OR (r.direction = ? AND c.sealed IS NOT NULL AND c.channel IN ({marks})))"
    )
    return sql, (TO_ADVISER, TO_EMPLOYEE, *served)


def _case_info(row: Iterable[Any]) -> CaseInfo:
    """A row of ``_CASE_COLUMNS``, in that order."""
    values = list(row)
    values[4] = bool(values[4])  # whistleblower
    return dataclasses.replace(CaseInfo(*values[:-1]), version=int(values[-1]))


class LineQueries:
    _db: aiosqlite.Connection
    _tx_db: aiosqlite.Connection
    _cipher: FieldCipher
    _write_lock: asyncio.Lock

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The transaction connection, writes taking turns: committed when the block
        ends, rolled back when it raises (a block may also roll back and return)."""
        async with self._write_lock:
            try:
                yield self._tx_db
            except BaseException:
                await self._tx_db.rollback()
                raise
            await self._tx_db.commit()

    # -- inside the transaction of a step -------------------------------------------------

    async def _insert_case(
        self,
        db: aiosqlite.Connection,
        user: UserKey,
        ref: str,
        adviser: str,
        case: NewCase,
        now: float,
    ) -> None:
        await db.execute(
            "INSERT INTO cases (case_ref, owner_key, adviser_id, channel, status, whistleblower,"
            " sealed, created_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ref,
                user,
                adviser,
                case.channel,
                OPEN,
                int(case.whistleblower),
                seal_contact(self._cipher, (ref, adviser, case.channel), case.contact),
                now,
                now,
            ),
        )
        await db.executemany(
            "INSERT INTO timers (case_ref, kind, due_at) VALUES (?, ?, ?)",
            [(ref, timer.kind, timer.due_at) for timer in case.timers],
        )

    async def _insert_notes(
        self, db: aiosqlite.Connection, case_ref: str, notes: Iterable[RelayNote], now: float
    ) -> None:
        for note in notes:
            # Sealed with the row's own id, known once the row exists: a sealed text
            # moved to another relay does not open there.
            cursor = await db.execute(
                "INSERT INTO relays (case_ref, direction, kind, created_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (case_ref, note.direction, note.kind, now, now),
            )
            relay_id = int(cursor.lastrowid or 0)
            await db.execute(
                "UPDATE relays SET sealed = ? WHERE id = ?",
                (seal_note(self._cipher, relay_id, case_ref, note), relay_id),
            )

    async def _write_line_step(
        self,
        db: aiosqlite.Connection,
        user: UserKey,
        line: LineStep,
        now: float,
        version: int | None = None,
    ) -> None:
        """``version``: the case's version the step read; the step loses if it moved on."""
        rows = list(
            await db.execute_fetchall(
                "SELECT status, sealed, adviser_id, channel, version FROM cases"
                " WHERE case_ref = ? AND owner_key = ?",
                (line.case_ref, user),
            )
        )
        if version is not None and (not rows or rows[0][4] != version):
            raise VersionConflict("the case changed since it was read")
        if not rows or rows[0][0] != OPEN:
            raise StoreError("the line is not open")
        await self._insert_notes(db, line.case_ref, line.notes, now)
        route = (line.case_ref, rows[0][2], rows[0][3])
        contact = open_contact(self._cipher, route, rows[0][1])
        sealed = rows[0][1]
        if contact is not None and line.address and line.address != contact.address:
            moved = CaseContact(line.address, contact.lang, contact.pseudonym)
            sealed = seal_contact(self._cipher, route, moved)
        await db.execute(
            "UPDATE cases SET version = version + 1, last_activity_at = ?, sealed = ?,"
            " status = ?, closed_at = ? WHERE case_ref = ?",
            (now, sealed, line.close_as or OPEN, now if line.close_as else None, line.case_ref),
        )
        if line.close_as:
            await db.execute(
                "DELETE FROM timers WHERE case_ref = ? AND fired_at IS NULL" + _UNLESS_TERMS,
                (line.case_ref,),
            )

    async def _withdraw_cases(self, db: aiosqlite.Connection, user: UserKey, now: float) -> None:
        """The person erased everything: unlink every case of theirs; an adviser who had
        the handoff is told in its thread, one who never got it is left nothing."""
        rows = list(
            await db.execute_fetchall(
                "SELECT case_ref, thread_root FROM cases WHERE owner_key = ?", (user,)
            )
        )
        for case_ref, thread_root in rows:
            await db.execute("DELETE FROM timers WHERE case_ref = ?", (case_ref,))
            # Unsent relays lose their content and are never sent; the rows stay, so
            # one being sent right now still records its event (for redaction later).
            await db.execute(
                "UPDATE relays SET sealed = NULL, delivered_at = ?, last_error = 'withdrawn'"
                " WHERE case_ref = ? AND delivered_at IS NULL",
                (now, case_ref),
            )
            if thread_root is None:
                await db.execute("DELETE FROM cases WHERE case_ref = ?", (case_ref,))
                continue
            await db.execute(
                "UPDATE cases SET version = version + 1, owner_key = NULL, sealed = NULL,"
                " status = ?, closed_at = COALESCE(closed_at, ?), last_activity_at = ?"
                " WHERE case_ref = ?",
                (WITHDRAWN, now, now, case_ref),
            )
            await self._insert_notes(db, case_ref, [RelayNote(TO_ADVISER, "withdrawn")], now)

    async def _link_thread(self, handoff_id: int, receipt: Receipt, now: float) -> None:
        await self._db.execute(
            "UPDATE cases SET version = version + 1, thread_root = ?, room_id = ?, delivered_at = ?"
            " WHERE case_ref = (SELECT case_ref FROM outbox WHERE id = ?)",
            (receipt.ref, receipt.target, now, handoff_id),
        )

    # -- reading cases --------------------------------------------------------------------

    async def open_case(self, user: UserKey) -> str | None:
        """The reference of the person's open line, the newest if there are several."""
        rows = list(
            await self._db.execute_fetchall(
                "SELECT case_ref FROM cases WHERE owner_key = ? AND status = ?"
                " ORDER BY created_at DESC LIMIT 1",
                (user, OPEN),
            )
        )
        return str(rows[0][0]) if rows else None

    async def case(self, case_ref: str) -> CaseInfo | None:
        rows = list(
            await self._db.execute_fetchall(
                f"SELECT {_CASE_COLUMNS} FROM cases WHERE case_ref = ?", (case_ref,)
            )
        )
        if not rows:
            return None
        info = _case_info(rows[0])
        timers = await self._db.execute_fetchall(
            "SELECT kind, due_at FROM timers WHERE case_ref = ? AND fired_at IS NULL"
            " ORDER BY due_at",
            (case_ref,),
        )
        unsent = await self._db.execute_fetchall(
            "SELECT COUNT(*) FROM relays WHERE case_ref = ? AND delivered_at IS NULL",
            (case_ref,),
        )
        (count,) = next(iter(unsent))
        return CaseInfo(
            **{
                **vars(info),
                "pending_timers": tuple(Timer(*t) for t in timers),
                "unsent_relays": int(count),
            }
        )

    async def case_in_thread(self, room_id: str, thread_root: str) -> CaseInfo | None:
        """The case whose thread starts at ``thread_root`` (or holds that post)."""
        # The root itself, or one of the bot's posts in the thread (a client without
        # threads replies to those).
        rows = list(
            await self._db.execute_fetchall(
                "SELECT case_ref FROM cases WHERE room_id = ? AND (thread_root = ? OR case_ref"
                " IN (SELECT case_ref FROM relays WHERE delivery_ref = ? AND direction = ?))",
                (room_id, thread_root, thread_root, TO_ADVISER),
            )
        )
        return await self.case(rows[0][0]) if rows else None

    async def cases_of_adviser(self, adviser_id: str) -> list[CaseInfo]:
        rows = await self._db.execute_fetchall(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE adviser_id = ? ORDER BY created_at",
            (adviser_id,),
        )
        return [_case_info(row) for row in rows]

    async def line_counts(self) -> tuple[int, int]:
        """How many lines are open, and how many relays wait to be sent (figures only)."""
        opened = await self._db.execute_fetchall(
            "SELECT COUNT(*) FROM cases WHERE status = ?", (OPEN,)
        )
        waiting = await self._db.execute_fetchall(
            "SELECT COUNT(*) FROM relays WHERE delivered_at IS NULL"
        )
        return int(next(iter(opened))[0]), int(next(iter(waiting))[0])

    # -- the adviser's side ---------------------------------------------------------------

    async def adviser_step(self, step: AdviserStep, now: float) -> bool:
        """Apply an adviser's event once; False when it was applied before or the case
        is no longer open (nothing is written then). VersionConflict when the step
        names a version of the case and the case moved on since (read it again)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO adviser_events (event_id, at) VALUES (?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                (step.event_id, now),
            )
            status = list(
                await db.execute_fetchall(
                    "SELECT status, version FROM cases WHERE case_ref = ?", (step.case_ref,)
                )
            )
            if cursor.rowcount != 1 or not status:
                await db.rollback()
                return False
            if step.case_version is not None and status[0][1] != step.case_version:
                raise VersionConflict("the case changed since it was read")
            if status[0][0] != OPEN and not step.any_status:
                await db.rollback()
                return False
            await self._apply_adviser_step(db, step, now)
            return True

    async def _apply_adviser_step(
        self, db: aiosqlite.Connection, step: AdviserStep, now: float
    ) -> None:
        await self._insert_notes(db, step.case_ref, step.notes, now)
        await db.execute(
            "UPDATE cases SET version = version + 1, last_activity_at = ?,"
            " adviser_replied_at = CASE WHEN ? THEN COALESCE(adviser_replied_at, ?)"
            " ELSE adviser_replied_at END WHERE case_ref = ?",
            (now, step.replied, now, step.case_ref),
        )
        if step.close:
            await db.execute(
                "UPDATE cases SET version = version + 1, status = ?, closed_at = ?"
                " WHERE case_ref = ?",
                (CLOSED, now, step.case_ref),
            )
            await db.execute(
                "DELETE FROM timers WHERE case_ref = ? AND fired_at IS NULL" + _UNLESS_TERMS,
                (step.case_ref,),
            )
        for kind in step.replace_timers:
            await db.execute(
                "DELETE FROM timers WHERE case_ref = ? AND kind = ? AND fired_at IS NULL",
                (step.case_ref, kind),
            )
        timers = (*step.timers, *((step.timer,) if step.timer is not None else ()))
        await db.executemany(
            "INSERT INTO timers (case_ref, kind, due_at) VALUES (?, ?, ?)",
            [(step.case_ref, timer.kind, timer.due_at) for timer in timers],
        )

    # -- relays -----------------------------------------------------------------------------

    async def due_relays(
        self, now: float, limit: int, channels: Iterable[str]
    ) -> list[PendingRelay]:
        """Due relays, oldest first: to the adviser once the case's thread exists, to
        the employee only on the channels named (the ones this process serves)."""
        deliverable, params = _deliverable(channels)
        rows = await self._db.execute_fetchall(
            "SELECT r.id, r.case_ref, c.adviser_id, c.channel, r.direction, r.kind, r.sealed,"
            " r.attempts, c.sealed, c.thread_root, c.room_id FROM relays r"
            " JOIN cases c ON c.case_ref = r.case_ref"
            f" WHERE r.next_attempt_at <= ? AND {deliverable} ORDER BY r.id LIMIT ?",
            (now, *params, limit),
        )
        due = []
        for (
            row_id,
            ref,
            adviser,
            channel,
            direction,
            kind,
            sealed,
            attempts,
            contact,
            root,
            room,
        ) in rows:
            try:
                note = json.loads(self._cipher.open(sealed, relay_aad(row_id, ref, direction)))
                opened_contact = open_contact(self._cipher, (ref, adviser, channel), contact)
            except (DecryptionError, StoreError):
                # Kept, not dropped (an admin may restore the right key file), and
                # the relays after it still go.
                log.error("case %s: a relay cannot be decrypted; check the key file", ref)
                await self.defer_relay(row_id, now + _UNREADABLE_RETRY_SECONDS, "undecryptable")
                continue
            due.append(
                PendingRelay(
                    row_id,
                    ref,
                    adviser,
                    channel,
                    direction,
                    kind,
                    note["text"],
                    note["values"],
                    attempts,
                    opened_contact,
                    root,
                    room,
                )
            )
        return due

    async def next_relay_at(self, channels: Iterable[str]) -> float | None:
        deliverable, params = _deliverable(channels)
        rows = list(
            await self._db.execute_fetchall(
                "SELECT MIN(r.next_attempt_at) FROM relays r JOIN cases c USING (case_ref)"
                f" WHERE {deliverable}",
                params,
            )
        )
        return float(rows[0][0]) if rows[0][0] is not None else None

    async def relay_delivered(self, relay_id: int, ref: str, now: float) -> None:
        """Sent: the content goes, the event id stays (for redaction later)."""
        async with self._write_lock:
            await self._db.execute(
                "UPDATE relays SET delivered_at = ?, delivery_ref = ?, sealed = NULL,"
                " last_error = NULL WHERE id = ?",
                (now, ref, relay_id),
            )

    async def note_unreachable(
        self, case_ref: str, now: float, kind: str = "employee_unreachable"
    ) -> None:
        """A relay could not reach the employee for good: tell the adviser's thread."""
        async with self._transaction() as db:
            await self._insert_notes(db, case_ref, [RelayNote(TO_ADVISER, kind)], now)

    async def defer_relay(self, relay_id: int, retry_at: float, reason: str) -> None:
        """Retry later; the later relays of the same case and direction wait as well,
        so the reader gets them in the order they were written."""
        async with self._write_lock:
            await self._db.execute(
                "UPDATE relays SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (reason, relay_id),
            )
            await self._db.execute(
                "UPDATE relays SET next_attempt_at = MAX(next_attempt_at, ?)"
                " WHERE delivered_at IS NULL AND id >= ? AND (case_ref, direction) ="
                " (SELECT case_ref, direction FROM relays WHERE id = ?)",
                (retry_at, relay_id, relay_id),
            )

    # -- timers -----------------------------------------------------------------------------

    async def due_timers(self, now: float, limit: int = 50) -> list[DueTimer]:
        rows = await self._db.execute_fetchall(
            "SELECT id, case_ref, kind, due_at FROM timers"
            " WHERE fired_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (now, limit),
        )
        due = []
        for timer_id, ref, kind, due_at in rows:
            info = await self.case(ref)
            if info is not None:
                due.append(DueTimer(timer_id, ref, kind, due_at, info))
        return due

    async def next_timer_at(self) -> float | None:
        rows = list(
            await self._db.execute_fetchall("SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL")
        )
        return float(rows[0][0]) if rows[0][0] is not None else None

    async def fire_timer(
        self, timer_id: int, case_ref: str, notes: Iterable[RelayNote], now: float
    ) -> bool:
        """Mark the timer fired and queue its notes together; False if it already fired."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE timers SET fired_at = ? WHERE id = ? AND fired_at IS NULL",
                (now, timer_id),
            )
            if cursor.rowcount != 1:
                await db.rollback()
                return False
            await self._insert_notes(db, case_ref, notes, now)
            return True

    # -- retention ----------------------------------------------------------------------------

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
                "DELETE FROM timers WHERE case_ref = ? AND fired_at IS NULL" + _UNLESS_TERMS,
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
