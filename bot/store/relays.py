"""SQL for the relays of a line: messages and notices between adviser and employee,
both ways, queued sealed in the transaction that causes them, sent in the order they
were written, retried.

A mixin of SqliteStore (bot/store/core.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import aiosqlite

from bot.keys.crypto import DecryptionError
from bot.store.base import StoreError
from bot.store.core import UNREADABLE_RETRY_SECONDS, StoreCore
from bot.store.line_records import TO_ADVISER, TO_EMPLOYEE, PendingRelay, RelayNote
from bot.store.sealed_fields import open_contact, relay_aad, seal_note

log = logging.getLogger(__name__)


def deliverable_relays(channels: Iterable[str]) -> tuple[str, tuple[str, ...]]:
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


class RelayQueries(StoreCore):
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

    async def due_relays(
        self, now: float, limit: int, channels: Iterable[str]
    ) -> list[PendingRelay]:
        """Due relays, oldest first: to the adviser once the case's thread exists, to
        the employee only on the channels named (the ones this process serves)."""
        deliverable, params = deliverable_relays(channels)
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
                await self.defer_relay(row_id, now + UNREADABLE_RETRY_SECONDS, "undecryptable")
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
        deliverable, params = deliverable_relays(channels)
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
