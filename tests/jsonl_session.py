"""Driving ``vertrouwd chat --jsonl`` as a separate process, one message at a time."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


class JsonlSession:
    def __init__(
        self,
        config: Path,
        user: str,
        lang: str = "en",
        log_level: str = "DEBUG",
        log_format: str = "text",
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "chat",
                "--jsonl",
                "--config",
                str(config),
                "--user",
                user,
                "--lang",
                lang,
                "--log-level",
                log_level,
                "--log-format",
                log_format,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def send(self, message: dict[str, str]) -> list[dict[str, Any]]:
        """Send one input; return the bot's messages up to its {"waiting": true}."""
        self.press(message)
        return self.replies()

    def press(self, message: dict[str, str]) -> None:
        """Send one input without waiting for the answer (read it with ``replies``)."""
        assert self.process.stdin
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def replies(self) -> list[dict[str, Any]]:
        """The bot's messages up to its next {"waiting": true}."""
        assert self.process.stdout
        out: list[dict[str, Any]] = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"bot exited early: {self.stderr_after_exit()}")
            data = json.loads(line)
            if data == {"waiting": True}:
                return out
            out.append(data)

    def read_unprompted(self, timeout: float) -> dict[str, Any]:
        """A message the bot writes without being asked (the adviser's, on the line)."""
        assert self.process.stdout
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, "nothing came within the time"
        return dict(json.loads(self.process.stdout.readline()))

    def kill(self) -> str:
        """SIGKILL, as a crash would; returns what the process logged."""
        self.process.send_signal(signal.SIGKILL)
        return self.stderr_after_exit()

    def close(self) -> str:
        """End of input: the bot finishes its work and exits 0."""
        assert self.process.stdin
        self.process.stdin.close()
        code = self.process.wait(timeout=30)
        log = self.stderr_after_exit()
        assert code == 0, log
        return log

    def stderr_after_exit(self) -> str:
        self.process.wait(timeout=30)
        assert self.process.stderr
        text = self.process.stderr.read()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream and not stream.closed:
                stream.close()
        return text
