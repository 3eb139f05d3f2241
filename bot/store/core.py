"""What every part of SqliteStore builds on: its two connections, the cipher, the
write lock, and the transaction that writes of more than one statement go through.

SqliteStore (bot/store/sqlite.py) is put together from mixins, one per kind of
record; each names here what it shares with the others, and SqliteStore sets it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite

from bot.keys.crypto import FieldCipher

# A row that does not open is kept and tried again this much later, not dropped: an
# admin may restore the right key file.
UNREADABLE_RETRY_SECONDS = 3600.0


class StoreCore:
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

    async def _scalar(self, sql: str) -> Any:
        rows = list(await self._db.execute_fetchall(sql))
        return rows[0][0]
