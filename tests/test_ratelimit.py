"""The flood limit (a burst, then a steady rate, per person; idle people are forgotten)
and the slow-down for wrong receipt codes."""

from __future__ import annotations

from bot.adapters.web.guard import network_of
from bot.keys.crypto import UserKey
from bot.util.ratelimit import CodeThrottle, FloodLimiter


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


# The slow-down for wrong receipt codes (the web chat's "I have a code").


def test_a_few_free_tries_then_a_wait_that_doubles_up_to_a_minute():
    throttle = CodeThrottle()
    me = throttle.client("192.0.2.1", "my-browser")
    waits = []
    for _ in range(12):
        throttle.failed(me, now=0.0)
        waits.append(throttle.wait(me, now=0.0))
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:8] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert waits[8:] == [CodeThrottle.MAX_WAIT_SECONDS] * 4


def test_a_correct_code_does_not_reset_the_wait_only_time_forgives():
    throttle = CodeThrottle()
    me = throttle.client("192.0.2.1", "my-browser")
    for _ in range(5):
        throttle.failed(me, now=0.0)
    # There is nothing to call on a correct code: the next wrong one waits longer.
    throttle.failed(me, now=10.0)
    assert throttle.wait(me, now=10.0) == 8.0
    # Hours later, one wrong code is free again.
    throttle.failed(me, now=7200.0)
    assert throttle.wait(me, now=7200.0) == 0.0


def test_one_wrong_code_every_quarter_hour_locks_nobody_out_behind_a_shared_address():
    throttle = CodeThrottle()
    office = "198.51.100.7"
    prankster = throttle.client(office, "prankster")
    colleagues = [throttle.client(office, f"colleague-{i}") for i in range(20)]
    for i in range(96):  # a whole day
        now = i * 900.0
        throttle.failed(prankster, now)
        assert throttle.wait(prankster, now) == 0.0
        assert [throttle.wait(c, now) for c in colleagues] == [0.0] * 20


def test_throwing_the_cookie_away_after_each_try_meets_the_address_budget():
    throttle = CodeThrottle()
    tries = [throttle.client("203.0.113.9", f"cookie-{i}") for i in range(40)]
    for client in tries:
        throttle.failed(client, now=0.0)
    fresh = throttle.client("203.0.113.9", "yet-another-cookie")
    assert throttle.wait(fresh, now=0.0) > 0
    # Another address is not affected, and the budget comes back with time.
    assert throttle.wait(throttle.client("203.0.113.10", "x"), now=0.0) == 0.0
    assert throttle.wait(fresh, now=3600.0) == 0.0


def test_the_slow_down_keeps_a_bounded_number_of_visitors():
    throttle = CodeThrottle(kept=1000)
    for i in range(5000):
        throttle.failed(throttle.client(f"2001:db8:{i:x}::1", "s"), now=float(i))
    assert len(throttle) == 1000
    # The newest are kept, and still slowed down.
    newest = throttle.client(f"2001:db8:{4999:x}::1", "s")
    throttle.failed(newest, now=4999.0)
    throttle.failed(newest, now=4999.0)
    assert throttle.wait(newest, now=4999.0) == 1.0


def test_an_ipv6_visitor_is_counted_by_their_64():
    assert network_of("2001:db8:1:2::1") == network_of("2001:db8:1:2:ffff:eeee:dddd:cccc")
    assert network_of("2001:db8:1:2::1") != network_of("2001:db8:1:3::1")
    assert network_of("::ffff:192.0.2.1") == network_of("192.0.2.1") == "192.0.2.1"
    assert network_of("192.0.2.1") != network_of("192.0.2.2")
    throttle = CodeThrottle()
    for i in range(40):  # one phone, many addresses in its /64, one cookie each
        throttle.failed(throttle.client(network_of(f"2001:db8:1:2::{i:x}"), f"c{i}"), 0.0)
    assert throttle.wait(throttle.client(network_of("2001:db8:1:2::beef"), "new"), 0.0) > 0
