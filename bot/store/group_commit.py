"""Group commit: single-row writes from concurrent steps share one round trip.

Each waiting step still returns only after its own row is committed, so "persist
before you reply" holds; under load, many rows go to SQLite's thread at once
instead of one by one.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
Write = tuple[str, dict[str, Any]]


async def in_database_thread(
    db: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]
) -> T:
    """Run ``work`` on the connection's own thread: many statements, one round trip."""
    conn = db._conn  # aiosqlite offers no public way to run a function on its thread
    return await db._execute(work, conn)  # type: ignore[no-untyped-call,no-any-return]


def _apply(conn: sqlite3.Connection, writes: list[Write]) -> list[bool]:
    """Each write's statement; True where it changed a row (its condition held)."""
    if len(writes) == 1:
        sql, params = writes[0]
        return [conn.execute(sql, params).rowcount > 0]  # autocommit
    conn.execute("BEGIN IMMEDIATE")
    try:
        applied = [conn.execute(sql, params).rowcount > 0 for sql, params in writes]
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return applied


class GroupCommit:
    """Conditional single-row writes from concurrent steps, committed together."""

    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._db = db
        self._lock = lock
        self._pending: list[tuple[Write, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, sql: str, params: dict[str, Any]) -> bool:
        """Once the write is committed: True if it changed its row, False if its
        condition did not hold (nothing written); raises what the database raised."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(((sql, params), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            async with self._lock:
                try:
                    applied = await in_database_thread(
                        self._db, functools.partial(_apply, writes=[w for w, _ in batch])
                    )
                except Exception as exc:  # noqa: BLE001 - handed to every waiting step
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
            for (_, future), done in zip(batch, applied, strict=True):
                if not future.done():
                    future.set_result(done)


class BatchedLookup:
    """Primary-key reads from concurrent steps share one round trip.

    ``sql`` selects the key as its first column and has a ``{keys}`` slot for the
    placeholders of an ``IN (...)`` list, or a ``{rows}`` slot for a ``VALUES`` list.
    """

    _MAX_KEYS = 500  # well under SQLite's limit on bound parameters

    def __init__(self, db: aiosqlite.Connection, sql: str) -> None:
        self._db = db
        self._sql = sql
        self._pending: dict[bytes, list[asyncio.Future[tuple[Any, ...] | None]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def get(self, key: bytes) -> tuple[Any, ...] | None:
        """The row for ``key`` without its key column, or None."""
        future: asyncio.Future[tuple[Any, ...] | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append(future)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="batched-lookup")
        return await future

    async def _read(self) -> None:
        while self._pending:
            keys = list(self._pending)[: self._MAX_KEYS]
            waiting = {key: self._pending.pop(key) for key in keys}
            sql = self._sql.format(
                keys=",".join("?" * len(keys)), rows=",".join(["(?)"] * len(keys))
            )
            try:
                rows = await self._db.execute_fetchall(sql, keys)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting step
                for futures in waiting.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            found = {row[0]: tuple(row[1:]) for row in rows}
            for key, futures in waiting.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(key))
