"""Scale of a bureau: many organisations in one process, beside one organisation holding
the same total, measured in the same run. Not a test: it prints figures.

Reading of issue 28: "200 organisations x 5,000 stored conversations" is 5,000 stored
conversations in each organisation's store (1,000,000 in all); the peer is one
organisation whose one store holds the same 1,000,000. Both run as a bureau
(`open_bureau`, `[bureau] enabled = true`), so the only difference is how many
organisations share the total.

For each, in a process of its own pinned to one CPU core (threads included), on uvloop
as `vertrouwd run` does:

- start-up: `open_bureau` until every organisation is served (the page check of every
  store, the migrations, the inboxes), median of ``--starts`` starts;
- resident memory and open file descriptors once started, and threads;
- idle CPU: what the started bureau spends with nobody writing (its polls);
- CPU per step and p99 step latency under the same mixed load: ``--people`` people,
  each person's intake (13 steps, a handoff to the local inbox at the end) through one
  organisation's engine, the people spread round-robin over the organisations (in the
  peer all go to its one organisation); the outbox is delivered before the CPU clock
  stops. Once with one person at a time and once with 10 (``--concurrency 1,10``).
  Target: bureau / single <= 1.1x, both. Expect the bureau to miss it with many people
  at once: in one store, steps that arrive together share one commit and one read
  (bot/store/group_commit.py); spread over 200 stores, each step pays its own trip to
  its store's database thread. Only one database file for all organisations would
  share them, which the bureau does not do (docs/scale.md says why);
- serving an organisation added while running: `org add` as an admin types it (a
  process of its own, median of ``--adds``), and the running bureau's next look at the
  folder until the new organisation is served.

The stored conversations are real sealed rows under each organisation's own key,
bulk inserted in one transaction per store after the store made its own schema.

    .venv/bin/python bench/organisations.py [--organisations 200] [--conversations 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The project root instead of bench/, whose telegram.py would shadow python-telegram-bot.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import uvloop

from bench.flow import INTAKE, _discard, _inbound, _rows, rss_mb
from bot.config import Config, load_config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import FieldCipher, read_key_file
from bot.organisations.folders import folder_of
from bot.organisations.lifecycle import add_organisation
from bot.runtime.bureau import Bureau, open_bureau
from bot.store import SqliteStore
from bot.store.connection import make_data_dir

TARGET = 1.1
_VERTROUWD = (sys.executable, "-m", "bot")
_BULK = 50_000  # rows sealed and inserted per executemany


def write_config(folder: Path) -> Path:
    """The shipped settings of a bureau, except the per-person flood limit: simulated
    people answer faster than anyone can type."""
    path = folder / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[bot]\ndata_dir = "{folder}/data"\nlog_level = "WARNING"\n'
        "[limits]\nburst_messages = 100000\n"
        '[bureau]\nenabled = true\nname = "Bench"\n'
    )
    return path


def load(folder: Path) -> Config:
    return load_config(folder / "config.toml", environ={})


def organisation_id(index: int) -> str:
    return f"org-{index:04d}"


# -- building ------------------------------------------------------------------------------


async def _schema(config: Config, organisation: str) -> FieldCipher:
    folder = folder_of(config.organisations_dir, organisation)
    cipher = FieldCipher(read_key_file(folder.key_file))
    store = await SqliteStore.open(folder.data_dir / STORE_FILE, cipher, config.storage.durability)
    await store.close()
    return cipher


def _fill(path: Path, cipher: FieldCipher, count: int) -> None:
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("BEGIN")
        left = count
        while left > 0:
            batch = min(left, _BULK)
            db.executemany(
                "INSERT INTO conversations (user_key, state, lang, sealed, updated_at, version)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                _rows(cipher, batch, time.time()),
            )
            left -= batch
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def build(folder: Path, organisations: int, conversations: int) -> float:
    """A bureau of ``organisations``, each storing ``conversations``; seconds taken."""
    started = time.perf_counter()
    config = load(folder) if (folder / "config.toml").exists() else None
    if config is None:
        write_config(folder)
        config = load(folder)
        make_data_dir(config.bot.data_dir)
    for index in range(organisations):
        organisation = organisation_id(index)
        add_organisation(config, organisation, f"Organisation {index}")
        cipher = asyncio.run(_schema(config, organisation))
        data = folder_of(config.organisations_dir, organisation).data_dir
        _fill(data / STORE_FILE, cipher, conversations)
    return time.perf_counter() - started


# -- measuring, in a process of its own ----------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


async def _load(bureau: Bureau, people: list[tuple[str, str]], concurrency: int) -> list[float]:
    """``concurrency`` people at a time, each through the intake in its organisation."""
    latencies: list[float] = []
    queue = list(reversed(people))
    runtimes = bureau.runtimes

    async def one_at_a_time() -> None:
        while queue:
            organisation, name = queue.pop()
            engine = runtimes[organisation].engine
            for message in INTAKE:
                started = time.perf_counter()
                await engine.handle(_inbound(name, message), _discard)
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one_at_a_time() for _ in range(concurrency)))
    return latencies


async def _deliver(bureau: Bureau) -> None:
    for runtime in bureau.runtimes.values():
        await runtime.worker.deliver_due()
        await runtime.relay.deliver_due()


async def measure(
    folder: Path, people: int, warm: int, levels: list[int], idle: float
) -> dict[str, float]:
    config = load(folder)
    config_file = folder / "config.toml"
    started, cpu0 = time.perf_counter(), time.process_time()
    async with open_bureau(config, config_file) as bureau:
        start_wall, start_cpu = time.perf_counter() - started, time.process_time() - cpu0
        served = sorted(bureau.runtimes)
        result: dict[str, float] = {
            "organisations": len(served),
            "start_s": start_wall,
            "start_cpu_s": start_cpu,
            "rss_start_mb": rss_mb(),
            "fds": open_fds(),
            "threads": threads(),
        }
        cpu0 = time.process_time()
        await asyncio.sleep(idle)
        result["idle_cpu_share"] = (time.process_time() - cpu0) / idle
        # Every organisation has served someone once (its texts read, its caches warm),
        # as in a bureau that has run a while; the peer warms with as many people.
        warming = [(served[i % len(served)], f"warm-{i}") for i in range(warm)]
        await _load(bureau, warming, max(levels))
        await _deliver(bureau)
        for level in levels:
            measured = [(served[i % len(served)], f"p{level}-{i}") for i in range(people)]
            cpu0 = time.process_time()
            latencies = await _load(bureau, measured, level)
            await _deliver(bureau)
            cpu = time.process_time() - cpu0
            ordered = sorted(latencies)
            result[f"steps@{level}"] = len(ordered)
            result[f"cpu_per_step@{level}"] = cpu / len(ordered)
            result[f"p50@{level}"] = statistics.median(ordered)
            result[f"p99@{level}"] = ordered[int(len(ordered) * 0.99)]
        result["rss_loaded_mb"] = rss_mb()
        # An organisation added while running, served at the next look at the folder.
        add_organisation(config, "added-while-running", "Added while running")
        looked = time.perf_counter()
        await bureau.reconcile()
        assert "added-while-running" in bureau.runtimes
        result["reconcile_add_s"] = time.perf_counter() - looked
    shutil.rmtree(folder_of(config.organisations_dir, "added-while-running").root)
    return result


# -- the run ---------------------------------------------------------------------------------


def child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", str(min(os.sched_getaffinity(0))), sys.executable, __file__, *args],
        check=False,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(f"measuring {args[1]} failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.splitlines()[-1]))


def org_add(folder: Path, organisation: str) -> float:
    """`vertrouwd org add` as the admin types it, a whole process."""
    config = folder / "config.toml"
    started = time.perf_counter()
    subprocess.run(
        [*_VERTROUWD, "org", "add", organisation, "--name", "Added", "--config", str(config)],
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _levels(flag: str) -> list[int]:
    return [int(level) for level in flag.split(",")]


def _ratio(name: str, bureau: float, single: float, unit: str, scale: float, target: bool) -> bool:
    ratio = bureau / single if single else float("inf")
    met = ratio <= TARGET
    verdict = f" (target <= {TARGET}) {'met' if met else 'MISSED'}" if target else ""
    print(
        f"   {name}: {ratio:.2f}x{verdict}; {bureau * scale:,.1f} {unit}"
        f" / {single * scale:,.1f} {unit}"
    )
    return met or not target


def main(args: argparse.Namespace) -> bool:
    total = args.organisations * args.conversations
    with contextlib.ExitStack() as stack:
        if args.folder is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-orgs-")))
        else:
            root = args.folder
        folders = {"bureau": root / "bureau", "single": root / "single"}
        shape = {"bureau": (args.organisations, args.conversations), "single": (1, total)}
        for name, folder in folders.items():
            if folder.exists():  # kept with --folder from an earlier run of the same size
                continue
            seconds = build(folder, *shape[name])
            print(f"built {name}: {shape[name][0]} x {shape[name][1]:,} in {seconds:.0f} s")
        warm = max(args.organisations, 50)
        flags = [str(args.people), str(warm), args.concurrency, str(args.idle)]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in folders}
        for _ in range(args.starts):  # alternating, so both see the same machine
            for name, folder in folders.items():
                runs[name].append(child("--measure", str(folder), *flags))
        adds: dict[str, list[float]] = {name: [] for name in folders}
        for i in range(args.adds):
            for name, folder in folders.items():
                adds[name].append(org_add(folder, f"typed-{i}"))
        for folder in folders.values():
            for added in (folder / "data" / "organisations").glob("typed-*"):
                shutil.rmtree(added)
        load_average = os.getloadavg()
    got = {
        name: {key: statistics.median(run[key] for run in got) for key in got[0]}
        for name, got in runs.items()
    }
    b, s = got["bureau"], got["single"]
    print(
        f"\n{args.organisations} organisations x {args.conversations:,} stored conversations"
        f" beside 1 x {total:,}; medians of {args.starts} runs; load average"
        f" {load_average[0]:.2f} on {os.cpu_count()} cores"
    )
    print("bureau / single (bureau figure / single figure)")
    met = []
    for level in _levels(args.concurrency):
        print(f" {int(b[f'steps@{level}']):,} steps, {level} people at a time:")
        met += [
            _ratio(
                "CPU per step",
                b[f"cpu_per_step@{level}"],
                s[f"cpu_per_step@{level}"],
                "us",
                1e6,
                True,
            ),
            _ratio("p99 step latency", b[f"p99@{level}"], s[f"p99@{level}"], "ms", 1e3, True),
            _ratio("p50 step latency", b[f"p50@{level}"], s[f"p50@{level}"], "ms", 1e3, False),
        ]
    print(" once started, idle, and adding:")
    met += [
        _ratio("start-up", b["start_s"], s["start_s"], "s", 1, False),
        _ratio("start-up CPU", b["start_cpu_s"], s["start_cpu_s"], "s", 1, False),
        _ratio(
            "resident memory once started", b["rss_start_mb"], s["rss_start_mb"], "MB", 1, False
        ),
        _ratio(
            "resident memory after the load", b["rss_loaded_mb"], s["rss_loaded_mb"], "MB", 1, False
        ),
        _ratio("open file descriptors", b["fds"], s["fds"], "", 1, False),
        _ratio("threads", b["threads"], s["threads"], "", 1, False),
        _ratio(
            "idle CPU (share of a core)", b["idle_cpu_share"], s["idle_cpu_share"], "%", 100, False
        ),
        _ratio(
            "org add (the command)",
            statistics.median(adds["bureau"]),
            statistics.median(adds["single"]),
            "ms",
            1e3,
            False,
        ),
        _ratio(
            "an added organisation served (one look)",
            b["reconcile_add_s"],
            s["reconcile_add_s"],
            "ms",
            1e3,
            False,
        ),
    ]
    return all(met)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organisations", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=5_000, help="per organisation")
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument(
        "--concurrency", default="1,10", help="people at a time, one load per level: 1,10"
    )
    parser.add_argument("--idle", type=float, default=10.0, help="seconds watched idle")
    parser.add_argument("--starts", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--adds", type=int, default=3, help="runs of `org add`")
    parser.add_argument(
        "--folder", type=Path, help="build here, or reuse what an earlier run built here"
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parsed, rest = parser.parse_known_args()
    if parsed.measure:
        people, warm, levels = int(rest[0]), int(rest[1]), _levels(rest[2])
        print(json.dumps(uvloop.run(measure(parsed.measure, people, warm, levels, float(rest[3])))))
    else:
        sys.exit(0 if main(parsed) else 1)
