"""`chat --jsonl` under hostile input: every line gets an answer, nothing kills it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.texts.catalog import Texts
from tests.conftest import ROOT, run_cli, write_config
from tests.faults import INTAKE
from tests.hostile_jsonl import hostile_lines

SEED = 13
LINES = 3_000


def chat_process(config: Path, user: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "bot", "chat", "--jsonl", "--config", str(config)),
            *("--user", user, "--lang", "en", "--log-level", "WARNING"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


def answers(stdout: bytes) -> list[list[dict[str, object]]]:
    """The bot's output cut at each {"waiting": true}: one list per input line."""
    chunks: list[list[dict[str, object]]] = [[]]
    for line in stdout.decode("utf-8").splitlines():
        message = json.loads(line)
        if message == {"waiting": True}:
            chunks.append([])
        else:
            chunks[-1].append(message)
    return chunks[:-1]


def test_thousands_of_hostile_lines_each_get_an_answer_and_the_session_goes_on(
    tmp_path: Path, en: Texts
):
    config = write_config(tmp_path)
    lines = list(hostile_lines(SEED, LINES))
    # Whatever state the fuzz left: erase it (asked first), then a fresh intake.
    reset = [{"text": "/delete"}, {"choice": "yes"}]
    intake = [json.dumps(m).encode() for m in [*reset, *INTAKE]]
    process = chat_process(config, "fuzzed")
    stdout, stderr = process.communicate(b"\n".join(lines + intake) + b"\n", timeout=300)
    assert process.returncode == 0, stderr[-2000:]
    assert b"Traceback" not in stderr
    chunks = answers(stdout)
    assert len(chunks) == len(lines) + len(intake)
    for line, chunk in zip(lines, chunks, strict=False):
        assert chunk, line[:200]  # an error, or what the bot says
        assert all("error" in m or "text" in m for m in chunk)
    errors = sum(1 for chunk in chunks if any("error" in m for m in chunk))
    assert errors > LINES // 3  # most lines are broken, and said to be
    # After all that, an intake from the menu still goes through to the adviser.
    result = run_cli(["inbox", "--jsonl", "--config", str(config)])
    handoffs = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(h["handoff"]["answers"].get("name") == "Robin" for h in handoffs)


def test_a_closed_output_pipe_ends_quietly_with_the_step_saved(tmp_path: Path, en: Texts):
    config = write_config(tmp_path)
    process = chat_process(config, "leaver")
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(b'{"text": "hello"}\n')
    process.stdin.flush()
    while json.loads(process.stdout.readline()) != {"waiting": True}:
        pass  # the bot answers in full
    process.stdout.close()  # and nobody reads any more
    for message in INTAKE[1:4]:
        process.stdin.write(json.dumps(message).encode() + b"\n")
    process.stdin.close()
    assert process.wait(timeout=60) == 0
    stderr = process.stderr.read()
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr
    # The step whose reply could not be written was saved: the next start goes on
    # from there (consent asked; agreeing leads to the choice of adviser).
    result = run_cli(
        ["chat", "--jsonl", "--config", str(config), "--user", "leaver", "--lang", "en"],
        stdin=json.dumps({"choice": "agree"}) + "\n",
    )
    assert en("adviser.prompt") in result.stdout


def test_the_keyboard_chat_reads_bytes_that_are_not_utf8_without_a_crash(tmp_path: Path):
    config = write_config(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--config", str(config), "--user", "kb"],
        input=b"hallo\xff\xfe\n",
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert b"Traceback" not in result.stderr
    assert result.stdout.count(b"> ") == 2  # the reply to that line, then the next prompt
