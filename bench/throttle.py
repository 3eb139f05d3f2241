"""Benchmark of the web chat's slow-down for wrong receipt codes, the code that runs on
the one event loop every channel shares for each wrong code. Not a test: it prints
figures.

- Per wrong code, with 40,000 addresses already slowed down against 10 (target <= 2x:
  O(1) per request at any size, no walk over the table).
- The same for the new-conversation limit (a token bucket per address).
- Memory stays bounded: the count kept never passes the cap.

Each figure is the median of several rounds of 20,000 calls, measured in this process.

    .venv/bin/python bench/throttle.py [--addresses 40000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# The project root instead of bench/, whose telegram.py would shadow python-telegram-bot.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bot.adapters.web.guard import network_of
from bot.keys.crypto import UserKey
from bot.util.ratelimit import CodeThrottle, FloodLimiter

CALLS = 20_000
ROUNDS = 5


def address(i: int) -> str:
    return network_of(f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::1")


def wrong_code_us(filled: int) -> float:
    """Microseconds per wrong code (wait, then failed) from a new visitor, with
    ``filled`` visitors already in the table."""
    throttle = CodeThrottle()
    now = 1_000.0
    for i in range(filled):
        throttle.failed(throttle.client(address(i), "s"), now)
    clients = [throttle.client(address(filled + i), "s") for i in range(CALLS)]
    start = time.perf_counter()
    for client in clients:
        throttle.wait(client, now)
        throttle.failed(client, now)
        now += 0.001
    return (time.perf_counter() - start) / CALLS * 1e6


def start_limit_us(filled: int) -> float:
    limiter = FloodLimiter(30, 10)
    now = 1_000.0
    for i in range(filled):
        limiter.check(UserKey(i.to_bytes(32, "big")), now)
    keys = [UserKey((filled + i).to_bytes(32, "big")) for i in range(CALLS)]
    start = time.perf_counter()
    for key in keys:
        limiter.check(key, now)
        now += 0.001
    return (time.perf_counter() - start) / CALLS * 1e6


def bounded() -> int:
    throttle = CodeThrottle(kept=10_000)
    for i in range(50_000):
        throttle.failed(throttle.client(address(i), "s"), float(i))
    return len(throttle)


def median(measure: object, filled: int) -> float:
    assert callable(measure)
    return statistics.median(measure(filled) for _ in range(ROUNDS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=40_000)
    args = parser.parse_args()
    for name, measure in (("wrong code", wrong_code_us), ("new conversation", start_limit_us)):
        few = median(measure, 10)
        many = median(measure, args.addresses)
        print(
            f"{name}: {many:.2f} us per request with {args.addresses:,} addresses,"
            f" {few:.2f} us with 10: {many / few:.2f}x (target <= 2x)"
        )
    print(f"kept after 50,000 addresses with a cap of 10,000: {bounded():,} (<= 10,000)")


if __name__ == "__main__":
    main()
