"""Benchmark of the web chat: CPU per message and step latency, vertrouwd against a floor;
memory with many open live-update connections. Not a test: it prints figures.

N simulated visitors walk a whole intake over HTTP on loopback, as a browser without
JavaScript does: each step a form posted, then the page it redirects to. The server
under test runs as its own process pinned to one core, so its CPU time is measured
apart from the visitors'. In the same run the floor (bench/_web_floor.py), an aiohttp
server doing only a step's unavoidable work over the same requests (the post, with the
same sealed session cookie, reads one sealed row, re-seals and commits it, and redirects;
the page it redirects to opens the cookie, reads the row and sends a page of the same
size), gets the same steps from the same visitors' code.
Then 1,000 pages hold a server-sent-events connection open each, and the server's
memory is compared with its memory before.

    .venv/bin/python bench/web.py [--visitors 50] [--rounds 2] [--streams 1000]

(``--streams 0`` leaves the memory part out.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import aiohttp

STEPS = [
    {"choice": "intake"},
    {"choice": "agree"},
    {"choice": "adviser-a"},
    {"choice": "no"},
    {"choice": "bullying"},
    {"text": "My manager keeps shouting at me in meetings."},
    {"text": "Robin"},
    {"choice": "email"},
    {"text": "robin@example.nl"},
    {"choice": "mornings"},
    {"choice": "today"},
    {"choice": "send"},
]
TARGET_RATIO = 2.0
TARGET_STREAM_MB = 50.0
_FIELD = re.compile(r'name="(csrf|m|question)" value="([^"]*)"')


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of the process (the database's too), in nanoseconds'
    precision from the scheduler (the clock ticks of /proc/PID/stat are 10 ms)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def fields_of(html: str) -> dict[str, str]:
    return dict(_FIELD.findall(html))


@dataclass
class Figures:
    steps: int
    cpu: float
    latencies: list[float]
    page_bytes: float
    # Without the confirming step: it commits the handoff synced to disk (fsync).
    unsynced: list[float] | None = None

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.steps * 1000

    @property
    def p99_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=100)[98] * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_unsynced_ms(self) -> float:
        return statistics.quantiles(self.unsynced or self.latencies, n=100)[98] * 1000


def address(number: int) -> str:
    """A visitor's address as the (trusted) proxy reports it: from the benchmarking
    range of RFC 2544. Only a header: no traffic goes there."""
    return f"198.18.{number // 256 % 256}.{number % 256}"


_visitors = 0


def ours(url: str) -> dict[str, str]:
    """What a browser sends with a form from our own page (the chat refuses a post
    without it); the floor checks it too."""
    return {"Origin": url}


def new_session(**options: object) -> aiohttp.ClientSession:
    global _visitors
    _visitors += 1
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"X-Forwarded-For": address(_visitors)},
        **options,  # type: ignore[arg-type]
    )


async def visitor(
    url: str, latencies: list[float], sizes: list[int], unsynced: list[float] | None = None
) -> None:
    async with new_session() as http:
        async with http.get(url + "/") as response:
            page = await response.text()
        start = {"csrf": fields_of(page)["csrf"]}
        async with http.post(url + "/start", data=start, headers=ours(url)) as response:
            page = await response.text()
        for step in STEPS:
            form = {**fields_of(page), **step}
            if "text" in step:
                form.pop("question", None)
            started = time.perf_counter()
            async with http.post(url + "/chat", data=form, headers=ours(url)) as response:
                page = await response.text()
            latencies.append(time.perf_counter() - started)
            if unsynced is not None and step != STEPS[-1]:
                unsynced.append(latencies[-1])
            sizes.append(len(page.encode()))
            if response.status != 200 or 'name="csrf"' not in page:
                raise RuntimeError(f"step {step} failed: {response.status}")


def wait_until_up(url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def start_vertrouwd(folder: Path, port: int) -> asyncio.subprocess.Process:
    config = folder / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{folder / "data"}"\nlog_level = "WARNING"\n'
        "[limits]\nburst_messages = 100000\nmessages_per_minute = 100000\n"
        f'[web]\nenabled = true\nport = {port}\ntrusted_proxies = ["127.0.0.1"]\n'
        # The crowd limits sized for the bench's own crowd (all visitors start at once;
        # every stream is a page and a connection).
        "starts_per_minute = 100000\nmax_event_streams = 100000\nmax_connections = 100000\n"
    )
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", "0", sys.executable, "-m", "bot", "run", "--config", str(config),
        cwd=ROOT, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.to_thread(wait_until_up, f"http://127.0.0.1:{port}/", process)
    return process


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await process.wait()


async def measure_vertrouwd(folder: Path, visitors: int, port: int) -> Figures:
    process = await start_vertrouwd(folder, port)
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.gather(*(visitor(url, [], []) for _ in range(5)))  # warm-up
        latencies: list[float] = []
        unsynced: list[float] = []
        sizes: list[int] = []
        before = cpu_seconds(process.pid)
        await asyncio.gather(*(visitor(url, latencies, sizes, unsynced) for _ in range(visitors)))
        cpu = cpu_seconds(process.pid) - before
    finally:
        await stop(process)
    # The start's post and its page count as a step, as on the floor.
    steps = visitors * (len(STEPS) + 1)
    return Figures(steps, cpu, latencies, statistics.mean(sizes), unsynced)


async def measure_floor(folder: Path, visitors: int, port: int, page_bytes: int) -> Figures:
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", "0", sys.executable, "-m", "bench._web_floor", str(port),
        str(folder / "floor.sqlite3"), str(page_bytes), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    await process.stdout.readline()
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.gather(*(visitor(url, [], []) for _ in range(5)))  # warm-up
        latencies: list[float] = []
        unsynced: list[float] = []
        sizes: list[int] = []
        before = cpu_seconds(process.pid)
        await asyncio.gather(*(visitor(url, latencies, sizes, unsynced) for _ in range(visitors)))
        cpu = cpu_seconds(process.pid) - before
    finally:
        await stop(process)
    return Figures(visitors * (len(STEPS) + 1), cpu, latencies, statistics.mean(sizes), unsynced)


async def open_stream(http: aiohttp.ClientSession, url: str, opened: asyncio.Event) -> None:
    async with http.get(url + "/events") as response:
        await response.content.readline()  # "retry: ...": the stream is open
        opened.set()
        await asyncio.sleep(3600)


async def measure_streams(folder: Path, streams: int, port: int) -> tuple[float, float]:
    process = await start_vertrouwd(folder, port)
    url = f"http://127.0.0.1:{port}"
    sessions: list[aiohttp.ClientSession] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for _ in range(streams):
            http = new_session(connector=aiohttp.TCPConnector(limit=0))
            sessions.append(http)
            async with http.get(url + "/") as response:
                page = await response.text()
            start = {"csrf": fields_of(page)["csrf"]}
            async with http.post(url + "/start", data=start, headers=ours(url)):
                pass
        await asyncio.sleep(1)
        idle = rss_mb(process.pid)
        events = []
        for http in sessions:
            opened = asyncio.Event()
            events.append(opened)
            tasks.append(asyncio.create_task(open_stream(http, url, opened)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
        await asyncio.sleep(1)
        loaded = rss_mb(process.pid)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for http in sessions:
            await http.close()
        await stop(process)
    return idle, loaded


async def main(visitors: int, rounds: int, streams: int) -> None:
    # Wall-clock latencies depend on what else the machine runs; CPU per message does not.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * streams + 256)), hard))
    ours: list[Figures] = []
    floors: list[Figures] = []
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(rounds):
            folder = Path(tmp) / f"r{number}"
            folder.mkdir()
            mine = await measure_vertrouwd(folder, visitors, 18_700 + number)
            floor = await measure_floor(folder, visitors, 18_750 + number, int(mine.page_bytes))
            ours.append(mine)
            floors.append(floor)
            for name, f in (("vertrouwd", mine), ("floor", floor)):
                print(
                    f"round {number + 1} {name:>9}: {f.steps} steps, CPU {f.cpu_ms:.2f} ms per"
                    f" message, step p50 {f.p50_ms:.1f} ms, p99 {f.p99_ms:.1f} ms,"
                    f" page {f.page_bytes:,.0f} bytes"
                )
        idle = loaded = 0.0
        if streams:
            folder = Path(tmp) / "streams"
            folder.mkdir()
            idle, loaded = await measure_streams(folder, streams, 18_800)
    cpu = statistics.median(f.cpu_ms for f in ours)
    floor_cpu = statistics.median(f.cpu_ms for f in floors)
    p99 = statistics.median(f.p99_ms for f in ours)
    floor_p99 = statistics.median(f.p99_ms for f in floors)
    print(
        f"\nWeb chat, {visitors} visitors x {len(STEPS) + 1} steps, one core, median of {rounds}"
        " (a step: a post and the page it redirects to, for both):"
    )
    for what, mine, floor, unit in (
        ("CPU per message", cpu, floor_cpu, "ms"),
        ("p99 step latency", p99, floor_p99, "ms"),
    ):
        ratio = mine / floor
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(
            f"  {what}: vertrouwd {mine:.2f} {unit}, floor {floor:.2f} {unit},"
            f" ratio {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}"
        )
    print(
        f"  without the confirming step (its commit is synced to disk): p99 vertrouwd"
        f" {statistics.median(f.p99_unsynced_ms for f in ours):.1f} ms,"
        f" floor {statistics.median(f.p99_unsynced_ms for f in floors):.1f} ms"
    )
    if not streams:
        return
    extra = loaded - idle
    verdict = "met" if extra < TARGET_STREAM_MB else "NOT met"
    print(
        f"  {streams} open live-update connections: {idle:.1f} MB idle, {loaded:.1f} MB open,"
        f" {extra:.1f} MB above idle (target < {TARGET_STREAM_MB:.0f}) {verdict}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="10 visitors, 1 round, 200 streams")
    args = parser.parse_args()
    if args.quick:
        args.visitors, args.rounds, args.streams = 10, 1, 200
    asyncio.run(main(args.visitors, args.rounds, args.streams))
