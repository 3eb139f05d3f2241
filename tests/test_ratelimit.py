"""The flood limit: a burst, then a steady rate, per person; idle people are forgotten."""

from __future__ import annotations

from bot.keys.crypto import UserKey
from bot.util.ratelimit import FloodLimiter


def key(i: int) -> UserKey:
    return UserKey(i.to_bytes(32, "big"))


def test_idle_people_are_forgotten():
    limiter = FloodLimiter(burst=8, per_minute=20)
    for i in range(20_000):
        limiter.check(key(i), now=0.0)
    limiter.check(key(10**6), now=3600.0)  # an hour later all buckets are full again
    assert len(limiter) < 20_000


def test_a_burst_then_a_steady_rate_and_one_warning_per_flood():
    limiter = FloodLimiter(burst=3, per_minute=60)
    results = [limiter.check(key(1), now=0.0) for _ in range(5)]
    assert results == [(True, False)] * 3 + [(False, True), (False, False)]
    assert limiter.check(key(2), now=0.0) == (True, False)  # others are not affected
    assert limiter.check(key(1), now=1.0) == (True, False)  # one per second comes back
    assert limiter.check(key(1), now=1.0) == (False, True)
