"""SQL for the cases of the line after a handoff: opened in the handoff's transaction,
changed by the employee's steps, unlinked when the person erases everything, tied to
the adviser's thread at delivery, and read back with their timers.

A mixin of SqliteStore (bot/store/core.py), over the relays it queues notices on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import aiosqlite

from bot.keys.crypto import UserKey
from bot.sinks.base import Receipt
from bot.store.base import StoreError, VersionConflict
from bot.store.line_records import (
    OPEN,
    TO_ADVISER,
    WITHDRAWN,
    CaseContact,
    CaseInfo,
    LineStep,
    NewCase,
    RelayNote,
    Timer,
)
from bot.store.relays import RelayQueries
from bot.store.sealed_fields import open_contact, seal_contact

_CASE_COLUMNS = (
    "case_ref, adviser_id, channel, status, whistleblower, created_at, delivered_at,"
    " thread_root, room_id, adviser_replied_at, last_activity_at, closed_at, version"
)

# The whistleblower act's terms bind the organisation, not the chat: closing a line
# (by either side, or after a silence) leaves these reminders in place.
UNLESS_TERMS = " AND kind NOT IN ('ack_reminder', 'feedback_reminder')"


def _case_info(row: Iterable[Any]) -> CaseInfo:
    """A row of ``_CASE_COLUMNS``, in that order."""
    values = list(row)
    values[4] = bool(values[4])  # whistleblower
    return dataclasses.replace(CaseInfo(*values[:-1]), version=int(values[-1]))


class CaseQueries(RelayQueries):
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
                "DELETE FROM timers WHERE case_ref = ? AND fired_at IS NULL" + UNLESS_TERMS,
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
