"""SQL for the annual report's counts, and the adviser's registrations in progress.

A mixin of SqliteStore (bot/store/core.py), over the case events: an adviser's step
counts in its own transaction. A count is a period (year and quarter), an adviser, a
dimension and a value, all short codes; it is added to in the transaction of the step
that causes it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiosqlite

from bot.keys.crypto import DecryptionError
from bot.store.base import StoreError
from bot.store.case_events import CaseEventQueries
from bot.store.line_records import AdviserStep
from bot.store.sealed_fields import registered_aad, registration_aad
from bot.store.stat_records import CODE, Count, Registration, StatRow, Tally


def check_tally(tally: Tally) -> None:
    """Refuse anything that is not a count: a text, an id, a negative amount."""
    if not (2000 <= tally.year <= 2999 and 1 <= tally.quarter <= 4):
        raise StoreError("a count needs a year and a quarter")
    for count in tally.counts:
        if not (CODE.match(count.dimension) and CODE.match(count.value)) or count.amount < 0:
            raise StoreError("a count holds codes and amounts only")


class StatisticsQueries(CaseEventQueries):
    # -- inside the transaction of a step -------------------------------------------------

    async def _add_tally(self, db: aiosqlite.Connection, tally: Tally) -> None:
        check_tally(tally)
        await db.executemany(
            "INSERT INTO statistics (year, quarter, adviser_id, dimension, value, count)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (year, quarter, adviser_id, dimension, value)"
            " DO UPDATE SET count = count + excluded.count",
            [
                (tally.year, tally.quarter, tally.adviser_id, c.dimension, c.value, c.amount)
                for c in tally.counts
            ],
        )

    async def _apply_adviser_step(
        self, db: aiosqlite.Connection, step: AdviserStep, now: float
    ) -> None:
        """The line's side of an adviser's step, with what it counts: before it, while
        the case still shows whether the adviser had answered."""
        if step.first_contact is not None:
            await self._first_contact(db, step.case_ref, step.first_contact)
        if step.registration is not None:
            await self._start_registration(db, step.registration, now)
        if step.tally is not None:
            await self._add_tally(db, step.tally)
        await super()._apply_adviser_step(db, step, now)

    async def _first_contact(self, db: aiosqlite.Connection, case_ref: str, tally: Tally) -> None:
        """Counted once per case: only while the case has no answer of the adviser yet."""
        rows = list(
            await db.execute_fetchall(
                "SELECT adviser_replied_at FROM cases WHERE case_ref = ?", (case_ref,)
            )
        )
        if rows and rows[0][0] is None:
            await self._add_tally(db, tally)

    async def _start_registration(
        self, db: aiosqlite.Connection, registration: Registration, now: float
    ) -> None:
        await db.execute(
            "INSERT INTO registrations (thread_key, adviser_id, case_ref, sealed, started_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_key) DO NOTHING",
            (
                registration.thread_key,
                registration.adviser_id,
                registration.case_ref,
                self._seal_registration(registration.thread_key, registration.state),
                now,
            ),
        )

    def _seal_registration(self, thread_key: str, state: dict[str, Any]) -> bytes:
        return self._cipher.seal(json.dumps(state).encode(), registration_aad(thread_key))

    @contextlib.asynccontextmanager
    async def _once(self, event_id: str | None, now: float) -> AsyncIterator[bool]:
        """A transaction that acts only the first time ``event_id`` is seen."""
        async with self._transaction() as db:
            if event_id is None:
                yield True
                return
            cursor = await db.execute(
                "INSERT INTO adviser_events (event_id, at) VALUES (?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                (event_id, now),
            )
            yield cursor.rowcount == 1

    # -- counts ---------------------------------------------------------------------------

    async def add_counts(self, tally: Tally, event_id: str | None, now: float) -> bool:
        """Counts not tied to a case (preventive work); once per adviser event."""
        check_tally(tally)
        async with self._once(event_id, now) as first:
            if first:
                await self._add_tally(self._tx_db, tally)
            return first

    async def withdraw_counts(
        self, tally: Tally, entry: str, event_id: str | None, now: float
    ) -> bool:
        """Take back counts entered by mistake, all or nothing, with an audit line;
        False when those counts are not there (or the event was seen before)."""
        check_tally(tally)
        async with self._once(event_id, now) as first:
            db = self._tx_db
            if not first:
                return False
            for c in tally.counts:
                rows = list(
                    await db.execute_fetchall(
                        "SELECT count FROM statistics WHERE year = ? AND quarter = ?"
                        " AND adviser_id = ? AND dimension = ? AND value = ?",
                        (tally.year, tally.quarter, tally.adviser_id, c.dimension, c.value),
                    )
                )
                if not rows or rows[0][0] < c.amount:
                    await db.rollback()
                    return False
            await db.executemany(
                "UPDATE statistics SET count = count - ? WHERE year = ? AND quarter = ?"
                " AND adviser_id = ? AND dimension = ? AND value = ?",
                [
                    (c.amount, tally.year, tally.quarter, tally.adviser_id, c.dimension, c.value)
                    for c in tally.counts
                ],
            )
            await db.execute("DELETE FROM statistics WHERE count = 0")
            await db.execute(
                "INSERT INTO count_corrections (at, adviser_id, year, quarter, entry)"
                " VALUES (?, ?, ?, ?, ?)",
                (now, tally.adviser_id, tally.year, tally.quarter, entry),
            )
            return True

    async def count_corrections(self) -> list[tuple[float, str, int, int, str]]:
        """The audit lines of withdrawn counts, oldest first."""
        rows = await self._db.execute_fetchall(
            "SELECT at, adviser_id, year, quarter, entry FROM count_corrections ORDER BY id"
        )
        return [(float(a), str(b), int(c), int(d), str(e)) for a, b, c, d, e in rows]

    async def statistics(self, years: Iterable[int], adviser_id: str | None) -> list[StatRow]:
        wanted = sorted(set(years))
        marks = ",".join("?" * len(wanted)) or "NULL"
        rows = await self._db.execute_fetchall(
            "SELECT year, quarter, adviser_id, dimension, value, count FROM statistics"
            f" WHERE year IN ({marks}) AND (? IS NULL OR adviser_id = ?)"
            " ORDER BY year, quarter, adviser_id, dimension, value",
            (*wanted, adviser_id, adviser_id),
        )
        return [StatRow(*row) for row in rows]

    # -- registrations --------------------------------------------------------------------

    async def purge_registrations(self, started_before: float) -> int:
        """Registrations of contacts outside the bot left unfinished since before then:
        their answers go, uncounted (those of a case go with the case)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM registrations WHERE case_ref IS NULL AND started_at < ?",
                (started_before,),
            )
            return cursor.rowcount

    async def registration(self, thread_key: str) -> Registration | None:
        rows = list(
            await self._db.execute_fetchall(
                "SELECT adviser_id, case_ref, sealed FROM registrations WHERE thread_key = ?",
                (thread_key,),
            )
        )
        if not rows:
            return None
        adviser_id, case_ref, sealed = rows[0]
        try:
            state = json.loads(self._cipher.open(sealed, registration_aad(thread_key)))
        except DecryptionError as exc:
            raise StoreError("a registration cannot be decrypted") from exc
        return Registration(thread_key, adviser_id, case_ref, state)

    async def case_registered(self, case_ref: str) -> bool:
        rows = list(
            await self._db.execute_fetchall(
                "SELECT registered FROM cases WHERE case_ref = ?", (case_ref,)
            )
        )
        return bool(rows and rows[0][0])

    async def start_registration(
        self, registration: Registration, event_id: str, now: float
    ) -> bool:
        """Begin asking; False when the event was seen before (nothing written then)."""
        async with self._once(event_id, now) as first:
            if first:
                await self._start_registration(self._tx_db, registration, now)
            return first

    async def registration_step(
        self,
        thread_key: str,
        event_id: str,
        state: dict[str, Any] | None,
        tally: Tally | None,
        now: float,
    ) -> bool:
        """Save the answers so far, or (``state`` None) end the registration: its counts
        are added and its answers deleted together. False when the event was seen before
        or the registration is gone."""
        if tally is not None:
            check_tally(tally)
        async with self._once(event_id, now) as first:
            db = self._tx_db
            rows = list(
                await db.execute_fetchall(
                    "SELECT case_ref FROM registrations WHERE thread_key = ?", (thread_key,)
                )
            )
            if not first or not rows:
                await db.rollback()
                return False
            if state is not None:
                await db.execute(
                    "UPDATE registrations SET sealed = ? WHERE thread_key = ?",
                    (self._seal_registration(thread_key, state), thread_key),
                )
                return True
            await db.execute("DELETE FROM registrations WHERE thread_key = ?", (thread_key,))
            case_ref = rows[0][0]
            if case_ref is not None:
                await db.execute("UPDATE cases SET registered = 1 WHERE case_ref = ?", (case_ref,))
            if tally is not None:
                await self._add_tally(db, tally)
                if case_ref is not None:
                    await self._keep_registered(db, case_ref, tally, now)
            return True

    async def _keep_registered(
        self, db: aiosqlite.Connection, case_ref: str, tally: Tally, now: float
    ) -> None:
        """What a case's registration added, sealed with the case, to be taken back."""
        data = {
            "year": tally.year,
            "quarter": tally.quarter,
            "adviser_id": tally.adviser_id,
            "counts": [[c.dimension, c.value, c.amount] for c in tally.counts],
        }
        sealed = self._cipher.seal(json.dumps(data).encode(), registered_aad(case_ref))
        await db.execute(
            "INSERT OR REPLACE INTO registered_counts (case_ref, sealed, registered_at)"
            " VALUES (?, ?, ?)",
            (case_ref, sealed, now),
        )

    async def _registered_tally(self, db: aiosqlite.Connection, case_ref: str) -> Tally | None:
        rows = list(
            await db.execute_fetchall(
                "SELECT sealed FROM registered_counts WHERE case_ref = ?", (case_ref,)
            )
        )
        if not rows:
            return None
        try:
            data = json.loads(self._cipher.open(rows[0][0], registered_aad(case_ref)))
        except DecryptionError as exc:
            raise StoreError("a case's registered counts cannot be decrypted") from exc
        counts = tuple(Count(str(d), str(v), int(a)) for d, v, a in data["counts"])
        return Tally(int(data["year"]), int(data["quarter"]), str(data["adviser_id"]), counts)

    async def withdraw_registration(
        self, registration: Registration, event_id: str | None, now: float
    ) -> bool:
        """Take back what a case's registration added (never below zero), with an audit
        line, and ask its questions again; False when the case has no registration kept
        (or the event was seen before)."""
        case_ref = registration.case_ref
        if case_ref is None:
            raise StoreError("only a case's registration is withdrawn")
        async with self._once(event_id, now) as first:
            db = self._tx_db
            tally = await self._registered_tally(db, case_ref) if first else None
            if tally is None:
                await db.rollback()
                return False
            await db.executemany(
                "UPDATE statistics SET count = MAX(count - ?, 0) WHERE year = ? AND quarter = ?"
                " AND adviser_id = ? AND dimension = ? AND value = ?",
                [
                    (c.amount, tally.year, tally.quarter, tally.adviser_id, c.dimension, c.value)
                    for c in tally.counts
                ],
            )
            await db.execute("DELETE FROM statistics WHERE count = 0")
            await db.execute("DELETE FROM registered_counts WHERE case_ref = ?", (case_ref,))
            await db.execute("UPDATE cases SET registered = 0 WHERE case_ref = ?", (case_ref,))
            await db.execute(
                "INSERT INTO count_corrections (at, adviser_id, year, quarter, entry)"
                " VALUES (?, ?, ?, ?, 'registration')",
                (now, tally.adviser_id, tally.year, tally.quarter),
            )
            await self._start_registration(db, registration, now)
            return True
