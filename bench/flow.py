"""Benchmark of the intake core: steps per second, latency per step, memory.

Runs the real engine, flow, encrypted SQLite store and outbox, pinned to one CPU
core, with the durability setting the bot ships with. Not a test: it prints figures.

    .venv/bin/python bench/flow.py [--people 2000] [--stored 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# The project root instead of bench/, whose telegram.py would shadow python-telegram-bot.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bot.config import load_config
from bot.messages import Inbound, Reply
from bot.runtime import open_runtime

INTAKE: list[dict[str, str]] = [
    {"text": "hello"},
    {"choice": "intake"},
    {"choice": "agree"},
    {"choice": "adviser-a"},
    {"choice": "no"},
    {"text": "bullying"},
    {"text": "My manager shouts at me in meetings, in front of the whole team."},
    {"text": "Robin"},
    {"choice": "email"},
    {"text": "robin@example.nl"},
    {"choice": "evenings"},
    {"choice": "this_week"},
    {"choice": "send"},
]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _discard(replies: Sequence[Reply]) -> None:
    return None


async def run_people(
    engine, names: list[str], script: list[dict[str, str]], concurrency: int
) -> list[float]:
    """Each person sends the script in order; up to ``concurrency`` people at once."""
    latencies: list[float] = []
    queue = list(reversed(names))

    async def one_person() -> None:
        while queue:
            name = queue.pop()
            for message in script:
                inbound = Inbound(
                    "bench",
                    name,
                    text=message.get("text"),
                    choice=message.get("choice"),
                    language_hint="en",
                )
                started = time.perf_counter()
                await engine.handle(inbound, _discard)
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one_person() for _ in range(concurrency)))
    return latencies


async def main(people: int, stored: int, concurrency: int) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "config.toml"
        # The shipped settings, except the per-person flood limit: simulated people
        # answer faster than anyone can type.
        config_path.write_text(
            f'[bot]\ndata_dir = "{folder}/data"\nlog_level = "WARNING"\n'
            "[limits]\nburst_messages = 100000\n"
        )
        config = load_config(config_path, environ={})
        async with open_runtime(config) as runtime:
            engine = runtime.engine
            # Warm up: imports, caches, the database file.
            await run_people(engine, [f"warm-{i}" for i in range(50)], INTAKE, 10)

            cpu0, wall0 = time.process_time(), time.perf_counter()
            load = await run_people(engine, [f"p-{i}" for i in range(people)], INTAKE, concurrency)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            await runtime.worker.deliver_due()
            delivered = len(await runtime.inbox.items()) - 50

            # Latency of one step on its own: one person at a time, nobody queued ahead.
            alone = sorted(await run_people(engine, [f"q-{i}" for i in range(300)], INTAKE, 1))

            fill0 = time.perf_counter()
            await run_people(engine, [f"s-{i}" for i in range(stored)], INTAKE[:3], concurrency)
            fill = time.perf_counter() - fill0
            memory = rss_mb()
            total = await runtime.store.conversation_count()

    steps = len(load)
    p50 = statistics.median(alone) * 1000
    p99 = alone[int(len(alone) * 0.99)] * 1000
    queued = sorted(load)
    print(
        f"durability: {config.durability} (SQLite WAL, synchronous=NORMAL; the step that "
        "confirms an intake is committed with synchronous=FULL)"
    )
    print(f"CPU cores in use: {sorted(os.sched_getaffinity(0))} (bot, SQLite thread, outbox)")
    print(
        f"throughput: {people} people x {len(INTAKE)} steps = {steps} steps, {concurrency} "
        f"people at once, {delivered} handoffs delivered to the inbox meanwhile"
    )
    print(
        f"  {steps / wall:,.0f} steps/s, {cpu / steps * 1e6:.0f} us CPU per step; "
        f"latency under that load p50 {statistics.median(queued) * 1000:.2f} ms, "
        f"p99 {queued[int(len(queued) * 0.99)] * 1000:.2f} ms"
    )
    print(
        f"latency of one step alone ({len(alone)} steps): p50 {p50:.3f} ms, "
        f"p99 {p99:.3f} ms, max {alone[-1] * 1000:.3f} ms"
    )
    print(f"stored conversations: {total:,} ({stored:,} added in {fill:.1f} s)")
    print(
        f"resident memory: {memory:.1f} MB "
        f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB)"
    )
    met = steps / wall >= 5000 and p99 < 2.0 and memory < 150
    print(f"targets >= 5,000 steps/s, p99 < 2 ms, < 150 MB: {'met' if met else 'MISSED'}")
    return met


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, threads included
    sys.exit(0 if asyncio.run(main(args.people, args.stored, args.concurrency)) else 1)
