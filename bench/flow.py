"""Benchmark of the intake core as ratios measured in one run, so a slow day shows as
slow for every figure alike. Not a test: it prints figures.

- Cost: the engine's CPU per step (flow, encrypted store, outbox, local inbox) against
  a floor loop doing only the unavoidable work of a step: read one sealed row through
  aiosqlite, open and re-seal it with AES-GCM, write it back and commit at the same
  durability. Target <= 1.5x.
- Growth: CPU per step and p99 latency with many stored conversations against 1,000
  (target <= 1.1x both); resident memory with many stored (< 150 MB); start-up with
  many stored against none (<= 1.2x: no full scans at start).

Each measurement runs in its own process pinned to one CPU core (threads included),
on uvloop as `vertrouwd run` does, with the durability setting the bot ships with.
The stored conversations are real sealed rows, bulk inserted in one transaction.

    .venv/bin/python bench/flow.py [--stored 100000 | --full] [--people 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# The project root instead of bench/, whose telegram.py would shadow python-telegram-bot.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import orjson
import uvloop

from bot.config import Config, load_config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.messages import Inbound, Reply
from bot.runtime import open_runtime
from bot.store import SqliteStore
from bot.store.connection import open_database
from bot.store.sealed_fields import conversation_aad
from bot.store.sqlite import _SYNCHRONOUS

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
# What a stored conversation holds halfway through an intake.
STORED_DATA = {
    "answers": {
        "adviser": "adviser-a",
        "danger": "no",
        "topic": "bullying",
        "description": "My manager shouts at me in meetings, in front of the whole team.",
    },
    "detour_from": None,
    "draft_at": None,
    "editing": False,
    "last_case": None,
    "turn": 7,
    "reply_to": "someone",
}
SMALL = 1_000
COST_TARGET, GROWTH_TARGET, STARTUP_TARGET, RSS_TARGET_MB = 1.5, 1.1, 1.2, 150.0
STARTUP_RUNS = 5


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def bench_config(folder: Path) -> Config:
    path = folder / "config.toml"
    # The shipped settings, except the per-person flood limit: simulated people
    # answer faster than anyone can type.
    path.write_text(
        f'[bot]\ndata_dir = "{folder}/data"\nlog_level = "WARNING"\n'
        "[limits]\nburst_messages = 100000\n"
    )
    return load_config(path, environ={})


# -- filling a store ----------------------------------------------------------------------


def _rows(cipher: FieldCipher, count: int, now: float) -> Iterator[tuple[Any, ...]]:
    plain = orjson.dumps(STORED_DATA)
    # In key order, so the insert appends to the table's B-tree instead of splitting it.
    for user in sorted(secrets.token_bytes(32) for _ in range(count)):
        yield (user, "description", "en", cipher.seal(plain, conversation_aad(user)), now, 1)


def fill(folder: Path, count: int) -> float:
    """``count`` sealed conversations in one transaction; returns the seconds it took."""
    config = bench_config(folder)
    cipher = FieldCipher(load_or_create_keys(config.key_file))

    async def schema() -> None:
        store = await SqliteStore.open(
            config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
        )
        await store.close()

    config.bot.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    asyncio.run(schema())
    started = time.perf_counter()
    with sqlite3.connect(config.bot.data_dir / STORE_FILE, isolation_level=None) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO conversations (user_key, state, lang, sealed, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            _rows(cipher, count, time.time()),
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - started


# -- measuring, in a process of its own -----------------------------------------------------


async def _discard(replies: Sequence[Reply]) -> None:
    return None


def _inbound(name: str, message: dict[str, str]) -> Inbound:
    return Inbound(
        "bench", name, text=message.get("text"), choice=message.get("choice"), language_hint="en"
    )


async def _people(
    engine: Any, names: list[str], script: list[dict[str, str]] = INTAKE
) -> list[float]:
    """One person after another, each through the script; each step's latency."""
    latencies = []
    for name in names:
        for message in script:
            started = time.perf_counter()
            await engine.handle(_inbound(name, message), _discard)
            latencies.append(time.perf_counter() - started)
    return latencies


async def _floor(config: Config, steps: int) -> float:
    """CPU seconds per step of the unavoidable work, on stored rows of the same file."""
    cipher = FieldCipher(load_or_create_keys(config.key_file))
    db = await open_database(
        config.bot.data_dir / STORE_FILE, _SYNCHRONOUS[config.storage.durability][0]
    )
    keys = [
        row[0] for row in await db.execute_fetchall("SELECT user_key FROM conversations LIMIT 1000")
    ]
    cpu0 = time.process_time()
    for i in range(steps):
        user = keys[i % len(keys)]
        rows = list(
            await db.execute_fetchall(
                "SELECT sealed FROM conversations WHERE user_key = ?", (user,)
            )
        )
        aad = conversation_aad(user)
        sealed = cipher.seal(cipher.open(rows[0][0], aad), aad)
        await db.execute(  # autocommit: the write is its commit
            "UPDATE conversations SET sealed = ?, updated_at = ? WHERE user_key = ?",
            (sealed, time.time(), user),
        )
    cpu = time.process_time() - cpu0
    await db.close()
    return cpu / steps


async def measure(folder: Path, people: int) -> dict[str, float]:
    config = bench_config(folder)
    async with open_runtime(config) as runtime:
        await _people(runtime.engine, [f"warm-{i}" for i in range(30)])
        cpu0 = time.process_time()
        latencies = await _people(runtime.engine, [f"p-{i}" for i in range(people)])
        await runtime.worker.deliver_due()  # the handoffs' delivery is part of their cost
        cpu = time.process_time() - cpu0
        # The steps of an intake before its handoff: each one read, step, sealed save.
        cpu0 = time.process_time()
        plain = await _people(runtime.engine, [f"q-{i}" for i in range(people)], INTAKE[:-1])
        plain_cpu = time.process_time() - cpu0
        memory = rss_mb()
        stored = await runtime.store.conversation_count()
    steps = len(latencies)
    ordered = sorted(latencies)
    floor = await _floor(config, steps)
    return {
        "steps": steps,
        "cpu_per_step": cpu / steps,
        "plain_cpu_per_step": plain_cpu / len(plain),
        "p50": statistics.median(ordered),
        "p99": ordered[int(steps * 0.99)],
        "floor_per_step": floor,
        "rss_mb": memory,
        "stored": stored,
    }


async def startup(folder: Path) -> dict[str, float]:
    """From opening everything to the first answer, the workers' first pass included."""
    config = bench_config(folder)
    started, cpu0 = time.perf_counter(), time.process_time()
    async with open_runtime(config) as runtime:
        assert runtime.retention is not None
        await runtime.retention.purge()
        await runtime.worker.deliver_due()
        await runtime.relay.deliver_due()
        await runtime.engine.handle(_inbound("first", INTAKE[0]), _discard)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return {"wall": wall, "cpu": cpu}


# -- the run ---------------------------------------------------------------------------------


def child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", str(min(os.sched_getaffinity(0))), sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def ratio_line(name: str, value: float, target: float, detail: str, below: bool = False) -> bool:
    met = value < target if below else value <= target
    sign = "<" if below else "<="
    print(f"  {name}: {value:.2f} (target {sign} {target}) {'met' if met else 'MISSED'}; {detail}")
    return met


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main(stored: int, people: int, repeat: int) -> bool:
    with tempfile.TemporaryDirectory() as root:
        small, large, empty = (Path(root) / name for name in ("small", "large", "empty"))
        for folder in (small, large, empty):
            folder.mkdir()
        fill_small = fill(small, SMALL)
        fill_large = fill(large, stored)
        fill(empty, 0)
        # Alternating, each several times: the machine's speed drifts during a run.
        fews, manys = [], []
        for _ in range(repeat):
            fews.append(child("--measure", str(small), "--people", str(people)))
            manys.append(child("--measure", str(large), "--people", str(people)))
        few, many = medians(fews), medians(manys)
        # Each start-up on a store that is as it was filled.
        starts_empty, starts_large = [], []
        for _ in range(STARTUP_RUNS):
            starts_empty.append(child("--startup", str(empty))["wall"])
            starts_large.append(child("--startup", str(large))["wall"])

    us, ms = 1e6, 1e3
    print(
        f"stored conversations: {SMALL:,} (filled in {fill_small:.2f} s) and {stored:,}"
        f" (filled in {fill_large:.1f} s, {stored / fill_large:,.0f} rows/s)"
    )
    print(f"figures: medians of {repeat} runs of each, alternating")
    for label, run in ((f"{SMALL:,} stored", few), (f"{stored:,} stored", many)):
        print(
            f"  {label}: {run['steps']:.0f} steps one at a time, engine"
            f" {run['cpu_per_step'] * us:.0f} us CPU per step (whole intakes, delivery"
            f" included; {run['plain_cpu_per_step'] * us:.0f} us for the steps before the"
            " handoff), floor"
            f" {run['floor_per_step'] * us:.0f} us; latency p50 {run['p50'] * ms:.3f} ms,"
            f" p99 {run['p99'] * ms:.3f} ms; RSS {run['rss_mb']:.1f} MB"
        )
    print(
        f"  start-up (median of {STARTUP_RUNS}): none stored"
        f" {statistics.median(starts_empty) * ms:.0f} ms, {stored:,} stored"
        f" {statistics.median(starts_large) * ms:.0f} ms"
    )
    results = [
        ratio_line(
            "engine CPU per step / floor, whole intakes",
            few["cpu_per_step"] / few["floor_per_step"],
            COST_TARGET,
            f"{few['cpu_per_step'] * us:.0f} us / {few['floor_per_step'] * us:.0f} us",
        ),
        ratio_line(
            "engine CPU per step / floor, steps before the handoff",
            few["plain_cpu_per_step"] / few["floor_per_step"],
            COST_TARGET,
            f"{few['plain_cpu_per_step'] * us:.0f} us / {few['floor_per_step'] * us:.0f} us",
        ),
        ratio_line(
            f"CPU per step, {stored:,} / {SMALL:,} stored",
            many["cpu_per_step"] / few["cpu_per_step"],
            GROWTH_TARGET,
            f"{many['cpu_per_step'] * us:.0f} us / {few['cpu_per_step'] * us:.0f} us",
        ),
        ratio_line(
            f"p99 latency, {stored:,} / {SMALL:,} stored",
            many["p99"] / few["p99"],
            GROWTH_TARGET,
            f"{many['p99'] * ms:.3f} ms / {few['p99'] * ms:.3f} ms",
        ),
        ratio_line(
            f"start-up, {stored:,} / none stored",
            statistics.median(starts_large) / statistics.median(starts_empty),
            STARTUP_TARGET,
            f"{statistics.median(starts_large) * ms:.0f} ms / "
            f"{statistics.median(starts_empty) * ms:.0f} ms",
        ),
        ratio_line(
            f"resident memory with {stored:,} stored, MB",
            many["rss_mb"],
            RSS_TARGET_MB,
            "absolute",
            below=True,
        ),
    ]
    durability = bench_config(Path(tempfile.gettempdir())).storage.durability
    print(
        f"durability: {durability} (steps commit with synchronous="
        f"{_SYNCHRONOUS[durability][0]}, the confirming step with {_SYNCHRONOUS[durability][1]})"
    )
    return all(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 stored conversations")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--startup", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The event loop `vertrouwd run` uses, for the engine and the floor alike.
    if args.measure:
        print(json.dumps(uvloop.run(measure(args.measure, args.people))))
    elif args.startup:
        print(json.dumps(uvloop.run(startup(args.startup))))
    else:
        sys.exit(
            0 if main(1_000_000 if args.full else args.stored, args.people, args.repeat) else 1
        )
