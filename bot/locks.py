"""One lock per key (a conversation, a chat), dropped when nobody holds or waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class _HeldLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class KeyedLocks(Generic[K]):
    """Work under the same key runs one at a time, in arrival order; other keys run freely."""

    def __init__(self) -> None:
        self._locks: dict[K, _HeldLock] = {}

    @asynccontextmanager
    async def hold(self, key: K) -> AsyncIterator[None]:
        held = self._locks.get(key)
        if held is None:
            held = self._locks[key] = _HeldLock()
        held.users += 1
        try:
            async with held.lock:
                yield
        finally:
            held.users -= 1
            if held.users == 0:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
