"""Limits kept in memory: the per-person flood limit (a token bucket) and the slow-down
for wrong receipt codes.

Both keep their entries in the order they last changed, so the entries that have gone
quiet longest are at the front: forgetting them costs O(1) each, and a cap on the count
drops the quietest first. No request ever walks the whole table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.keys.crypto import UserKey

K = TypeVar("K")
V = TypeVar("V")

# Enough for every person of a large organisation at once; a few MB at most.
_KEPT = 100_000
# Expired entries dropped per call, at most: each is dropped once, so O(1) amortised.
_DROPS_PER_CALL = 8


class _Recent(Generic[K, V]):
    """Entries by when they last changed, the quietest first, at most ``kept``."""

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def touch(self, key: K, value: V) -> None:
        """``value`` changed just now: it moves to the back."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._kept:
            self._entries.popitem(last=False)

    def oldest(self) -> V | None:
        return next(iter(self._entries.values()), None)

    def drop_oldest(self) -> None:
        self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class FloodLimiter:
    def __init__(self, burst: int, per_minute: int, kept: int = _KEPT) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        # A bucket that has refilled completely behaves like a new one: forgotten.
        self._full_after = self._burst / self._rate if self._rate else float("inf")
        self._buckets: _Recent[UserKey, _Bucket] = _Recent(kept)

    def check(self, user: UserKey, now: float) -> tuple[bool, bool]:
        """(allowed, warn): warn is True once per flood, for the first refused message."""
        self._forget_full(now)
        bucket = self._buckets.get(user) or _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        self._buckets.touch(user, bucket)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return True, False
        warn = not bucket.warned
        bucket.warned = True
        return False, warn

    def _forget_full(self, now: float) -> None:
        for _ in range(_DROPS_PER_CALL):
            oldest = self._buckets.oldest()
            if oldest is None or now - oldest.updated < self._full_after:
                return
            self._buckets.drop_oldest()

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass
class _Wrong:
    failures: float  # wrong codes, less one for every FORGIVE_SECONDS without one
    blocked_until: float
    last: float


@dataclass(frozen=True)
class CodeClient:
    """Who tried a code, as two salted hashes: the address (an IPv6 address by its
    /64) and that address together with the browser's session."""

    address: bytes
    visitor: bytes


class CodeThrottle:
    """Wrong receipt codes: a few free tries, then a wait that doubles with every
    further wrong code, for that browser at that address only. So one person behind an
    office's shared address who keeps trying wrong codes slows down only themselves.

    Each address also has a budget of wrong codes (``ADDRESS_BURST``, refilled by
    ``ADDRESS_PER_HOUR``): a visitor who throws away their cookie after every try is
    slowed down there. A wrong code now and then from a shared address never empties it.

    A correct code does not reset anything: wrong codes are forgiven with time only.
    In memory only; the salt is new at every start, so no address is kept."""

    FREE_TRIES = 3
    MAX_WAIT_SECONDS = 60.0
    FORGIVE_SECONDS = 600.0
    # Past this many, more wrong codes change nothing (the wait is at its cap).
    _MAX_COUNTED = 10.0
    ADDRESS_BURST = 30.0
    ADDRESS_PER_HOUR = 30.0

    def __init__(self, kept: int = _KEPT) -> None:
        self._salt = secrets.token_bytes(32)
        self._visitors: _Recent[bytes, _Wrong] = _Recent(kept)
        self._addresses: _Recent[bytes, _Bucket] = _Recent(kept)
        self._forget_after = self._MAX_COUNTED * self.FORGIVE_SECONDS
        self._refill = self.ADDRESS_PER_HOUR / 3600.0

    def client(self, network: str, sid: str) -> CodeClient:
        address = hmac.digest(self._salt, network.encode(), hashlib.sha256)
        visitor = hmac.digest(self._salt, address + b"\x00" + sid.encode(), hashlib.sha256)
        return CodeClient(address, visitor)

    def wait(self, client: CodeClient, now: float) -> float:
        """Seconds before this client may try a code again (0: now)."""
        self._forget(now)
        wrong = self._visitors.get(client.visitor)
        own = max(0.0, wrong.blocked_until - now) if wrong else 0.0
        tokens = self._tokens(self._addresses.get(client.address), now)
        shared = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._refill
        return max(own, shared)

    def failed(self, client: CodeClient, now: float) -> None:
        self._forget(now)
        wrong = self._visitors.get(client.visitor) or _Wrong(0.0, 0.0, now)
        forgiven = (now - wrong.last) / self.FORGIVE_SECONDS
        wrong.failures = min(self._MAX_COUNTED, max(0.0, wrong.failures - forgiven) + 1.0)
        wrong.last = now
        over = round(wrong.failures) - self.FREE_TRIES
        if over >= 0:
            wrong.blocked_until = now + min(2.0**over, self.MAX_WAIT_SECONDS)
        self._visitors.touch(client.visitor, wrong)
        tokens = self._tokens(self._addresses.get(client.address), now)
        self._addresses.touch(client.address, _Bucket(tokens - 1.0, now))

    def _tokens(self, bucket: _Bucket | None, now: float) -> float:
        if bucket is None:
            return self.ADDRESS_BURST
        return min(self.ADDRESS_BURST, bucket.tokens + (now - bucket.updated) * self._refill)

    def _forget(self, now: float) -> None:
        for _ in range(_DROPS_PER_CALL):
            oldest = self._visitors.oldest()
            if oldest is None or now - oldest.last < self._forget_after:
                break
            self._visitors.drop_oldest()
        full_after = self.ADDRESS_BURST / self._refill
        for _ in range(_DROPS_PER_CALL):
            bucket = self._addresses.oldest()
            if bucket is None or now - bucket.updated < full_after:
                break
            self._addresses.drop_oldest()

    def __len__(self) -> int:
        return len(self._visitors)
