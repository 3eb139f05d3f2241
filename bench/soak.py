"""Soak: many intakes by several people, bot processes SIGKILLed at random moments
and restarted; then the same while the disk fills up and empties again.

Each intake is a person (a fresh `--user`) talking to `vertrouwd chat --jsonl`, a
real process. A timer kills each process at a random moment; the person starts the
bot again and carries on from whatever question it shows (a media message makes it
repeat the current question). In the second round the data folder is on a small
tmpfs (needs root) that a filler fills and empties at random. At the end the outbox
is drained and the local inbox counted by a marker in each intake's description.
Not a test: it prints figures.

    .venv/bin/python bench/soak.py [--intakes 300] [--people 4] [--seed 13]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from bot.texts.catalog import load_catalog
from tests.faults import fill, small_tmpfs

EN = load_catalog(ROOT / "locales", "nl").texts("en")
CALM = EN("input.error")
PROBE = {"media": "photo"}  # not read; the bot repeats its current question
# The answer to each question, found by its choices or by its text.
CHOICES = [
    "send",
    "agree",
    "adviser-b",
    "no",
    "bullying",
    "email",
    "message_ok",
    "evenings",
    "this_week",
]
TEXTS = {
    EN("description.prompt", max=1000)[:40]: "description",
    EN("name.prompt")[:40]: "Robin",
    EN("email.prompt")[:40]: "robin@example.nl",
}


@dataclass
class Figures:
    confirmed: set[str] = field(default_factory=set)
    kills: int = 0
    starts: int = 0
    refused_starts: int = 0  # exit code 2 with a clear line (the disk was full)
    calm_replies: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Bot:
    """One `chat --jsonl` process for one person, with a kill timer."""

    def __init__(self, config: Path, user: str, logs: Path, kill_after: float | None) -> None:
        self.log = open(logs / f"{user}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "bot", "chat", "--jsonl", "--config", str(config)),
                *("--user", user, "--lang", "en", "--log-level", "WARNING"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=ROOT,
        )
        self.killed = threading.Event()
        self.timer = None
        if kill_after is not None:
            self.timer = threading.Timer(kill_after, self._kill)
            self.timer.start()

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
            self.killed.set()

    def send(self, message: dict[str, str]) -> list[dict[str, Any]] | None:
        """The bot's messages up to {"waiting": true}; None when the process died."""
        assert self.process.stdin and self.process.stdout
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        out: list[dict[str, Any]] = []
        while line := self.process.stdout.readline():
            data = json.loads(line)
            if data == {"waiting": True}:
                return out
            out.append(data)
        return None

    def stop(self) -> int:
        if self.timer is not None:
            self.timer.cancel()
        with contextlib.suppress(BrokenPipeError, OSError):
            assert self.process.stdin
            self.process.stdin.close()
        code = self.process.wait(timeout=60)
        self.log.close()
        return code


def answer(question: dict[str, Any], marker: str) -> dict[str, str]:
    ids = [c["id"] for c in question.get("choices", [])]
    for wanted in CHOICES:
        if wanted in ids:
            return {"choice": wanted, "question": question.get("question", "")}
    if "intake" in ids:
        return {"choice": "intake", "question": question.get("question", "")}
    for start, value in TEXTS.items():
        if question["text"].startswith(start):
            return {"text": marker if value == "description" else value}
    return PROBE  # a question this driver does not know: ask again


def intake(
    config: Path, user: str, logs: Path, rng: random.Random, figures: Figures, kill_max: float
) -> None:
    """One person's intake, through as many kills and restarts as it takes."""
    marker = f"soak intake {user} happened in the meeting room"
    message: dict[str, str] = {"text": "hello"}
    sent_send = False
    bot: Bot | None = None
    for _round in range(500):
        if bot is None:
            bot = Bot(config, user, logs, rng.uniform(0.2, kill_max) if kill_max else None)
            with figures.lock:
                figures.starts += 1
        replies = bot.send(message)
        if replies is None:  # killed, or refused to start
            code = bot.stop()
            with figures.lock:
                figures.kills += bot.killed.is_set()
                figures.refused_starts += code == 2 and not bot.killed.is_set()
            bot = None
            time.sleep(0.05)
            message = PROBE if message != {"text": "hello"} else message
            continue
        if [r.get("text") for r in replies] == [CALM]:
            with figures.lock:
                figures.calm_replies += 1
            time.sleep(0.1)
            continue  # the same message again
        question = replies[-1]
        ids = [c["id"] for c in question.get("choices", [])]
        if sent_send and "help_now" in ids:  # back at the menu after sending: it went
            with figures.lock:
                figures.confirmed.add(marker)
            break
        if any(r.get("text", "").startswith(EN("sent.text")[:30]) for r in replies):
            with figures.lock:
                figures.confirmed.add(marker)
            break
        message = answer(question, marker)
        sent_send = message.get("choice") == "send" or (sent_send and message == PROBE)
    if bot is not None:
        bot.stop()


class DiskFiller(threading.Thread):
    """Fills the file system for a moment, empties it, again, until stopped."""

    def __init__(self, disk: Path, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.disk, self.rng, self.stopping, self.fills = disk, rng, threading.Event(), 0

    def run(self) -> None:
        while not self.stopping.is_set():
            filler = fill(self.disk)
            self.fills += 1
            self.stopping.wait(self.rng.uniform(0.2, 1.0))
            filler.unlink()
            self.stopping.wait(self.rng.uniform(0.3, 1.5))


def inbox_markers(config: Path) -> Counter[str]:
    # A last start with nothing to say delivers what is due (after the longest retry
    # wait has passed), then the inbox is read.
    time.sleep(2.5)
    subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--jsonl", "--config", str(config)],
        input=b"",
        capture_output=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "inbox", "--jsonl", "--config", str(config)],
        capture_output=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    found: Counter[str] = Counter()
    for line in result.stdout.decode().splitlines():
        description = json.loads(line)["handoff"]["answers"].get("description", "")
        found[description] += 1
    return found


def soak(
    name: str, data_dir: Path, work: Path, args: argparse.Namespace, disk: Path | None
) -> None:
    config = work / f"{name}.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{data_dir}"\n[limits]\nburst_messages = 100000\n'
        "[outbox]\nretry_initial_seconds = 0.2\nretry_max_seconds = 2.0\n"
    )
    logs = work / f"{name}-logs"
    logs.mkdir()
    figures = Figures()
    rng = random.Random(args.seed)
    filler = DiskFiller(disk, random.Random(args.seed + 1)) if disk is not None else None
    if filler is not None:
        filler.start()
    users = [f"{name}-p{n % args.people}-i{n}" for n in range(args.intakes)]
    queues = [users[p :: args.people] for p in range(args.people)]
    started = time.monotonic()

    def person(queue: list[str], seed: int) -> None:
        own = random.Random(seed)
        for user in queue:
            intake(config, user, logs, own, figures, args.kill_max)

    threads = [threading.Thread(target=person, args=(q, rng.randrange(1 << 30))) for q in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if filler is not None:
        filler.stopping.set()
        filler.join()
        (filler.disk / "filler").unlink(missing_ok=True)
    elapsed = time.monotonic() - started
    found = inbox_markers(config)
    wanted = {f"soak intake {u} happened in the meeting room" for u in users}
    lost = len(figures.confirmed - set(found))
    doubled = sum(1 for marker, count in found.items() if marker in wanted and count > 1)
    unconfirmed = len(wanted - figures.confirmed)
    tracebacks = sum(p.read_bytes().count(b"Traceback") for p in logs.iterdir())
    print(
        f"{name:>10}: {args.intakes} intakes by {args.people} people in {elapsed:.0f} s;"
        f" confirmed {len(figures.confirmed)}, lost {lost}, doubled {doubled},"
        f" tracebacks {tracebacks}; never confirmed {unconfirmed};"
        f" {figures.starts} starts, {figures.kills} SIGKILLs,"
        f" {figures.refused_starts} starts refused (disk full, exit 2),"
        f" {figures.calm_replies} calm replies"
        + (f", disk filled {filler.fills} times" if filler is not None else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--intakes", type=int, default=12)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--kill-max", type=float, default=3.0, help="seconds; 0: no kills")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        soak("kills", work / "data-kills", work, args, None)
        with small_tmpfs(work / "disk", "4m") as disk:
            if disk is None:
                print("  disk full: skipped (mounting a small tmpfs needs root)")
                return
            soak("disk+kills", disk / "data", work, args, disk)


if __name__ == "__main__":
    main()
