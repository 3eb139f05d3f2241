"""What the readiness check and the metrics ask the store: counts and times only."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from typing import Any

import aiosqlite

from bot.store.base import StoreError, Waiting

# The clause the relay worker uses: a relay this process cannot send is not stuck here.
from bot.store.relays import deliverable_relays


class OpsQueries:
    _db: aiosqlite.Connection
    _write_lock: asyncio.Lock

    async def probe_write(self, now: float) -> None:
        """Write one row; StoreError when the store takes no writes."""
        async with self._write_lock:
            try:
                await self._db.execute(
                    "INSERT INTO ops_probe (id, at) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    (now,),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"the store takes no writes ({type(exc).__name__})") from exc

    async def _row(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        return tuple(next(iter(await self._db.execute_fetchall(sql, params))))

    async def waiting(self, channels: Iterable[str]) -> Waiting:
        handoffs, oldest_handoff = await self._row(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE delivered_at IS NULL"
        )
        (relays,) = await self._row("SELECT COUNT(*) FROM relays WHERE delivered_at IS NULL")
        where, params = deliverable_relays(channels)
        (oldest_relay,) = await self._row(
            f"SELECT MIN(r.created_at) FROM relays r JOIN cases c USING (case_ref) WHERE {where}",
            params,
        )
        return Waiting(int(handoffs), oldest_handoff, int(relays), oldest_relay)
