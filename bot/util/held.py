"""A value per key, held in memory for a while and then forgotten: never written to a
file, a database or a log, and gone with the process."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Held(Generic[K, V]):
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._values: dict[K, tuple[V, float]] = {}

    def get(self, key: K, now: float) -> V | None:
        self._forget_expired(now)
        held = self._values.get(key)
        return held[0] if held is not None else None

    def put(self, key: K, value: V, now: float) -> None:
        self._forget_expired(now)
        self._values[key] = (value, now + self._seconds)

    def drop(self, key: K) -> None:
        self._values.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, (_, until) in self._values.items() if until <= now]:
            del self._values[key]
