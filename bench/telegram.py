"""Benchmark of the Telegram channel: CPU per handled message, vertrouwd against an echo bot.

Runs the fake Bot API server (tests/fake_telegram.py) and N simulated people in this
process; the bot under test runs as its own process, pinned to one core, so its CPU
time is measured apart from the fake server's. Each person types a whole intake (13
messages) and waits for each answer, as a person would. The same people, with the
same messages, also talk to a minimal python-telegram-bot echo bot (bench/_echo_bot.py),
once as PTB's example has it and once handling chats side by side as vertrouwd does.
Not a test: it prints figures.

    .venv/bin/python bench/telegram.py [--people 200] [--rounds 2] [--profile]

It also measures how one chat sending many messages at once delays the others: the
p99 reply time of quiet chats with and without it (--busy-chat-only for just that).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project root instead of bench/: this file would shadow python-telegram-bot.
sys.path[0] = str(ROOT)

from tests.fake_telegram import FakeTelegram, Person

# A whole intake, typed: choices by number, as many people do on a phone.
SCRIPT = (
    "hi",
    "1",  # menu: contact the adviser
    "1",  # consent: agree
    "1",  # the first adviser
    "2",  # danger: no
    "1",  # topic: bullying
    "My manager keeps shouting at me in meetings.",
    "Robin",
    "3",  # contact by e-mail
    "robin@example.nl",
    "1",  # mornings
    "1",  # today
    "1",  # review: send
)
TARGET_RATIO = 1.3
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


@dataclass
class Figures:
    messages: int
    wall: float
    cpu: float
    api_calls: int  # besides getUpdates, warm-up and start-up included

    @property
    def cpu_ms_per_message(self) -> float:
        return self.cpu / self.messages * 1000

    @property
    def per_second(self) -> float:
        return self.messages / self.wall


async def converse(fake: FakeTelegram, person: Person, think: float) -> None:
    await asyncio.sleep(random.uniform(0, think))  # people do not all start at once
    for text in SCRIPT:
        seen = fake.sent_count(person.id)
        fake.send_text(person, text)
        await fake.wait_for_message(person.id, seen)
        await asyncio.sleep(think)  # reading the answer, typing the next


async def wait_ready(fake: FakeTelegram, process: asyncio.subprocess.Process) -> None:
    while not any(method == "getUpdates" for method, _ in fake.calls):
        if process.returncode is not None:
            raise RuntimeError("the bot under test exited before it was ready")
        await asyncio.sleep(0.05)


async def measure(
    fake: FakeTelegram,
    command: list[str],
    people: list[Person],
    env: dict[str, str],
    think: float,
    profile: Path | None = None,
) -> Figures:
    fake.calls.clear()
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", "0", *command, cwd=ROOT, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await wait_ready(fake, process)
        # Warm-up: everyone says hello once, outside the measurement.
        warm = [Person(p.id + 1, p.first_name, p.language_code) for p in people[:20]]
        await asyncio.gather(*(converse_once(fake, p) for p in warm))
        sampler = await start_sampling(process.pid, profile) if profile else None
        cpu_before, started = cpu_seconds(process.pid), time.perf_counter()
        await asyncio.gather(*(converse(fake, person, think) for person in people))
        cpu_after, ended = cpu_seconds(process.pid), time.perf_counter()
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            await sampler.wait()
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    sends = sum(1 for method, _ in fake.calls if method != "getUpdates")
    return Figures(len(people) * len(SCRIPT), ended - started, cpu_after - cpu_before, sends)


async def start_sampling(pid: int, out: Path) -> asyncio.subprocess.Process:
    """py-spy samples the bot's process (without pausing it) into ``out``."""
    py_spy = Path(sys.executable).with_name("py-spy")
    sampler = await asyncio.create_subprocess_exec(
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--nonblocking",
        "--rate",
        "250",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)  # attached
    return sampler


def print_profile(raw: Path, top: int = 25) -> None:
    """Where the bot's samples were, by function (inclusive), our code and its libraries."""
    total, inclusive, own = 0, Counter[str](), Counter[str]()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    print(f"\nprofile of vertrouwd ({total} samples, py-spy): where the time goes, inclusive")
    for frame, count in inclusive.most_common(top * 3)[:top]:
        print(f"  {count / total:6.1%}  {frame[:110]}")
    print("by function itself")
    for frame, count in own.most_common(top):
        print(f"  {count / total:6.1%}  {frame[:110]}")


async def converse_once(fake: FakeTelegram, person: Person) -> None:
    seen = fake.sent_count(person.id)
    fake.send_text(person, "hi")
    await fake.wait_for_message(person.id, seen)


def vertrouwd_config(folder: Path, fake: FakeTelegram) -> Path:
    (folder / "token").write_text(fake.token)
    (folder / "token").chmod(0o600)  # the bot refuses a token others can read
    config = folder / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{folder / "data"}"\nlog_level = "WARNING"\n'
        f'[telegram]\nenabled = true\ntoken_file = "{folder / "token"}"\n'
        f'api_base_url = "http://127.0.0.1:{fake.port}"\npoll_timeout_seconds = 1\n'
        # Telegram's own 30 per second would make this a benchmark of waiting.
        "max_messages_per_second = 100000.0\n"
    )
    return config


async def main(people_count: int, rounds: int, think: float, profile: bool = False) -> None:
    fake = FakeTelegram()
    await fake.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    results: dict[str, list[Figures]] = {"echo": [], "echo tuned": [], "vertrouwd": []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for round_number in range(rounds):
                base = 10_000_000 * (round_number + 1)
                for name in results:
                    offset = base + 1_000_000 * list(results).index(name)
                    people = [Person(offset + i * 2, f"P{i}", "en") for i in range(people_count)]
                    api = f"http://127.0.0.1:{fake.port}"
                    if name.startswith("echo"):
                        command = [sys.executable, "-m", "bench._echo_bot", api, fake.token]
                        command += ["--tuned"] if name == "echo tuned" else []
                    else:
                        workdir = Path(folder) / f"r{round_number}"
                        workdir.mkdir()
                        config = vertrouwd_config(workdir, fake)
                        command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
                    sampled = Path(folder) / f"profile-{round_number}.txt"
                    wanted = profile and name == "vertrouwd" and round_number == rounds - 1
                    figures = await measure(
                        fake, command, people, env, think, sampled if wanted else None
                    )
                    if wanted:
                        print_profile(sampled)
                    results[name].append(figures)
                    print(
                        f"round {round_number + 1} {name:>10}: {figures.messages} messages in"
                        f" {figures.wall:.1f} s, {figures.per_second:,.0f} messages/s,"
                        f" CPU {figures.cpu_ms_per_message:.2f} ms per message,"
                        f" {figures.api_calls / figures.messages:.2f} Bot API calls per message"
                    )
    finally:
        await fake.stop()
    cpu = {
        name: statistics.median(f.cpu_ms_per_message for f in runs)
        for name, runs in results.items()
    }
    rate = {name: statistics.median(f.per_second for f in runs) for name, runs in results.items()}
    print(
        f"\nTelegram, {people_count} people x {len(SCRIPT)} messages, one core, median of {rounds}:"
    )
    for name in results:
        print(f"  {name:>10}: {cpu[name]:.2f} ms CPU per message, {rate[name]:,.0f} messages/s")
    for echo in ("echo", "echo tuned"):
        ratio = cpu["vertrouwd"] / cpu[echo]
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"  vertrouwd / {echo}: {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}")


# -- one busy chat and the others (issue 19) -----------------------------------------------

FLOOD_MESSAGES = 40
FAIRNESS_TARGET = 1.5


def fairness_config(folder: Path, fake: FakeTelegram) -> Path:
    """As vertrouwd_config, without the flood limit: the busy chat's messages are all read."""
    config = vertrouwd_config(folder, fake)
    config.write_text(
        config.read_text() + "[limits]\nburst_messages = 100000\nmessages_per_minute = 100000\n"
    )
    return config


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]


async def reply_times(fake: FakeTelegram, people: list[Person], messages: int) -> list[float]:
    """Each person sends ``messages`` one after another, each when the last was answered."""

    async def one(person: Person) -> list[float]:
        times = []
        for _ in range(messages):
            seen = fake.sent_count(person.id)
            started = time.perf_counter()
            fake.send_text(person, "/help")
            await fake.wait_for_message(person.id, seen)
            times.append(time.perf_counter() - started)
        return times

    return [t for times in await asyncio.gather(*(one(p) for p in people)) for t in times]


async def fairness(quiet_count: int, messages: int, send_ms: float) -> None:
    """The p99 reply time of quiet chats while one chat floods the bot, against the same
    quiet chats' p99 without the flood, in the same bot process. Every send to Telegram
    takes ``send_ms`` (the fake waits), as the real network does."""
    fake = FakeTelegram()
    await fake.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    quiet = [Person(90_000_000 + i, f"Q{i}", "en") for i in range(quiet_count)]
    during = [Person(91_000_000 + i, f"R{i}", "en") for i in range(quiet_count)]
    busy = Person(92_000_000, "Busy", "en")
    for person in (*quiet, *during, busy):
        fake.slow_chats[person.id] = send_ms / 1000
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = fairness_config(Path(folder), fake)
            command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
            process = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env=env, stderr=asyncio.subprocess.DEVNULL
            )
            try:
                await wait_ready(fake, process)
                warm = [Person(93_000_000 + i, f"W{i}", "en") for i in range(5)]
                await asyncio.gather(*(converse_once(fake, p) for p in warm))
                alone = await reply_times(fake, quiet, messages)
                for _ in range(FLOOD_MESSAGES):
                    fake.send_text(busy, "/help")
                flooded = await reply_times(fake, during, messages)
                busy_left = FLOOD_MESSAGES - fake.sent_count(busy.id)
                await fake.wait_for_message(busy.id, FLOOD_MESSAGES - 1)
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()
    finally:
        await fake.stop()
    ratio = p99(flooded) / p99(alone)
    verdict = "met" if ratio <= FAIRNESS_TARGET else "NOT met"
    print(
        f"\nTelegram, one busy chat: {quiet_count} quiet chats x {messages} messages,"
        f" {send_ms:g} ms per send to Telegram"
    )
    print(
        f"  quiet chats alone:              p99 {p99(alone) * 1000:.0f} ms,"
        f" median {statistics.median(alone) * 1000:.0f} ms"
    )
    print(
        f"  while one chat sends {FLOOD_MESSAGES} at once: p99 {p99(flooded) * 1000:.0f} ms,"
        f" median {statistics.median(flooded) * 1000:.0f} ms"
        f" ({busy_left} of the busy chat's answers still to come when they were done)"
    )
    print(
        f"  p99 with / without the busy chat: {ratio:.2f} (target <= {FAIRNESS_TARGET}) {verdict}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="pause between an answer and the person's next message (0: none at all)",
    )
    parser.add_argument("--quiet-chats", type=int, default=20, help="for the busy-chat figure")
    parser.add_argument("--send-ms", type=float, default=100, help="for the busy-chat figure")
    parser.add_argument("--busy-chat-only", action="store_true", help="only the busy-chat figure")
    parser.add_argument(
        "--profile", action="store_true", help="sample vertrouwd with py-spy in the last round"
    )
    args = parser.parse_args()
    if not args.busy_chat_only:
        asyncio.run(main(args.people, args.rounds, args.think_ms / 1000, args.profile))
    asyncio.run(fairness(args.quiet_chats, 10, args.send_ms))
