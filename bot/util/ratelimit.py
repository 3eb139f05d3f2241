"""Per-person inbound flood limit: a token bucket per keyed user id."""

from __future__ import annotations

from dataclasses import dataclass

from bot.keys.crypto import UserKey

_PRUNE_ABOVE = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class FloodLimiter:
    def __init__(self, burst: int, per_minute: int) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._buckets: dict[UserKey, _Bucket] = {}
        self._prune_at = _PRUNE_ABOVE

    def check(self, user: UserKey, now: float) -> tuple[bool, bool]:
        """(allowed, warn): warn is True once per flood, for the first refused message."""
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = self._buckets[user] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return True, False
        warn = not bucket.warned
        bucket.warned = True
        return False, warn

    def _prune(self, now: float) -> None:
        # A bucket that has refilled completely behaves like a new one: forget it.
        full_after = self._burst / self._rate if self._rate else 0.0
        self._buckets = {
            user: bucket
            for user, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }
        # Many people active at once: prune again only after as many new ones, so
        # each new person costs amortised constant time.
        self._prune_at = max(_PRUNE_ABOVE, 2 * len(self._buckets))

    def __len__(self) -> int:
        return len(self._buckets)
