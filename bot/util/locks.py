"""One lock per key (a conversation, a chat), dropped when nobody holds or waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class _HeldLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class _Holding(Generic[K]):
    """The lock of one key for one block (a class, not a generator: on every message)."""

    __slots__ = ("_held", "_key", "_locks")

    def __init__(self, locks: dict[K, _HeldLock], key: K) -> None:
        self._locks = locks
        self._key = key
        held = locks.get(key)
        if held is None:
            held = locks[key] = _HeldLock()
        held.users += 1
        self._held = held

    async def __aenter__(self) -> None:
        try:
            await self._held.lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._held.lock.release()
        self._leave()

    def _leave(self) -> None:
        self._held.users -= 1
        if self._held.users == 0:
            del self._locks[self._key]


class KeyedLocks(Generic[K]):
    """Work under the same key runs one at a time, in arrival order; other keys run freely."""

    def __init__(self) -> None:
        self._locks: dict[K, _HeldLock] = {}

    def hold(self, key: K) -> _Holding[K]:
        """``async with locks.hold(key):`` runs the block once the key is free."""
        return _Holding(self._locks, key)

    def __len__(self) -> int:
        return len(self._locks)
