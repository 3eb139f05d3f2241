"""SQL for the outbox: handoffs queued sealed in the step that confirms them, their
delivery attempts, and what stays of them once delivered (no content, no link to
the person).

A mixin of SqliteStore (bot/store/core.py), over the cases: a delivery ties the
handoff's case to the adviser's thread.
"""

from __future__ import annotations

import logging
import sqlite3

import aiosqlite
import orjson

from bot.keys.crypto import DecryptionError, UserKey
from bot.sinks.base import Receipt
from bot.store.base import CaseRefTaken, DeliveredHandoff, NewHandoff, PendingHandoff
from bot.store.cases import CaseQueries
from bot.store.core import UNREADABLE_RETRY_SECONDS
from bot.store.sealed_fields import outbox_aad

log = logging.getLogger(__name__)


class HandoffQueries(CaseQueries):
    async def _insert_handoff(
        self, db: aiosqlite.Connection, user: UserKey, handoff: NewHandoff, now: float
    ) -> None:
        """In the transaction of the step; CaseRefTaken when the reference exists."""
        sealed = self._cipher.seal(
            orjson.dumps(handoff.payload), outbox_aad(handoff.case_ref, handoff.adviser_id)
        )
        try:
            await db.execute(
                "INSERT INTO outbox (case_ref, owner_key, adviser_id, sealed, created_at,"
                " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                (handoff.case_ref, user, handoff.adviser_id, sealed, now, now),
            )
        except sqlite3.IntegrityError as exc:
            raise CaseRefTaken(handoff.case_ref) from exc

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
                await self.defer_handoff(row_id, now + UNREADABLE_RETRY_SECONDS, "undecryptable")
                continue
            due.append(PendingHandoff(row_id, case_ref, adviser_id, payload, attempts, created_at))
        return due

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

    async def last_delivery_at(self) -> float | None:
        value = await self._scalar("SELECT MAX(delivered_at) FROM outbox")
        return float(value) if value is not None else None
