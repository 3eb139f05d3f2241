"""SQL for what happens to a case besides the employee's steps, each applied once: an
adviser's event (kept by its event id) and a timer firing (marked fired).

A mixin of SqliteStore (bot/store/core.py), over the cases.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from bot.store.base import VersionConflict
from bot.store.cases import UNLESS_TERMS, CaseQueries
from bot.store.line_records import CLOSED, OPEN, AdviserStep, DueTimer, RelayNote


class CaseEventQueries(CaseQueries):
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
                "DELETE FROM timers WHERE case_ref = ? AND fired_at IS NULL" + UNLESS_TERMS,
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
