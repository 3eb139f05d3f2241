"""Group commit: single-row writes from concurrent steps share one round trip.

Each waiting step still returns only after its own row is committed, so "persist
before you reply" holds; under load, many rows go to SQLite's thread at once
instead of one by one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite


class GroupCommit:
    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock, sql: str) -> None:
        self._db = db
        self._lock = lock
        self._sql = sql
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, row: tuple[Any, ...]) -> None:
        """Return once ``row`` is committed; raise what the database raised for it."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            async with self._lock:
                try:
                    await self._commit([row for row, _ in batch])
                except Exception as exc:  # noqa: BLE001 - handed to every waiting step
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _commit(self, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) == 1:
            await self._db.execute(self._sql, rows[0])  # autocommit: one round trip
            return
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            await self._db.executemany(self._sql, rows)
        except BaseException:
            await self._db.rollback()
            raise
        await self._db.commit()


class BatchedLookup:
    """Primary-key reads from concurrent steps share one round trip.

    ``sql`` selects the key as its first column and has one ``{keys}`` slot for
    the placeholders of an ``IN (...)`` list.
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
            sql = self._sql.format(keys=",".join("?" * len(keys)))
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
