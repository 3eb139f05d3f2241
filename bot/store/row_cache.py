"""The bounded cache of conversation rows, as stored (still sealed).

Only the versions make it safe (bot/store/base.py, VersionConflict): a cached row
that went stale loses at its conditional save and is read again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from bot.keys.crypto import UserKey
from bot.store.base import OpenLine


@dataclass(frozen=True, slots=True)
class CachedRow:
    """A conversation row as stored, still sealed: the cache holds nothing in the clear."""

    state: str | None  # None: no conversation row
    lang: str | None
    sealed: bytes | None
    version: int
    updated_at: float
    line: OpenLine | None


class RowCache:
    """The most recently used conversation rows, at most ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._rows: OrderedDict[UserKey, CachedRow] = OrderedDict()

    def get(self, user: UserKey) -> CachedRow | None:
        row = self._rows.get(user)
        if row is not None:
            self._rows.move_to_end(user)
        return row

    def put(self, user: UserKey, row: CachedRow) -> None:
        if self._limit <= 0:
            return
        self._rows[user] = row
        self._rows.move_to_end(user)
        while len(self._rows) > self._limit:
            self._rows.popitem(last=False)

    def drop(self, user: UserKey) -> None:
        self._rows.pop(user, None)

    def drop_idle(self, idle_since: float) -> None:
        """Forget rows untouched since ``idle_since`` (the purge deleted them)."""
        for user in [u for u, row in self._rows.items() if row.updated_at < idle_since]:
            del self._rows[user]

    def clear(self) -> None:
        self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)
