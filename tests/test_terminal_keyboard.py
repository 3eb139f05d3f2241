"""The terminal chat at a real keyboard (a pseudo-terminal): leaving, and the prompt."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

from bot.texts.catalog import Texts
from tests.conftest import ROOT, run_cli, write_config


class Keyboard:
    """`vertrouwd chat` in a pseudo-terminal, as a person starts it from a shell."""

    def __init__(self, config: Path, user: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the program
            os.chdir(ROOT)
            args = ["-m", "bot", "chat", "--config", str(config), "--lang", "en", "--user", user]
            os.execve(sys.executable, [sys.executable, *args], env)
        self.screen = ""
        self.ended: int | None = None

    def read_until(self, wanted: str, seconds: float = 20) -> bool:
        end = time.monotonic() + seconds
        while wanted not in self.screen and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536).decode(errors="replace")
                    self.screen += chunk.replace("\r\n", "\n")  # the terminal's line ends
                except OSError:  # the program has ended
                    break
        return wanted in self.screen

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def exit_code(self, seconds: float = 5) -> int | None:
        end = time.monotonic() + seconds
        while self.ended is None and time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.ended = os.waitstatus_to_exitcode(status)
            else:
                self.read_until("\0", 0.1)
        return self.ended

    def kill(self) -> None:
        if self.exit_code(0) is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def test_ctrl_c_leaves_at_once_with_a_goodbye(tmp_path: Path, en: Texts):
    keyboard = Keyboard(write_config(tmp_path), "kim")
    try:
        assert keyboard.read_until(en("terminal.quit_hint"))  # the intro says how to quit
        assert keyboard.read_until("\n> ")
        started = time.monotonic()
        keyboard.type("\x03")  # Ctrl-C, without pressing Enter
        assert keyboard.exit_code() == 0
        assert time.monotonic() - started < 3
        assert en("terminal.goodbye") in keyboard.screen
        assert "Traceback" not in keyboard.screen
    finally:
        keyboard.kill()


def test_the_prompt_comes_back_after_a_message_from_the_adviser(
    tmp_path: Path, en: Texts, nl: Texts
):
    config = write_config(tmp_path)
    keyboard = Keyboard(config, "lina")
    try:
        for answer in ("1", "1", "1", "2", "1", "1", "Lina", "1", "4", "3", "1"):
            assert keyboard.read_until("\n> "), keyboard.screen[-500:]
            keyboard.screen = ""
            keyboard.type(answer + "\n")
        assert keyboard.read_until(en("menu.line_open", case_ref="")[:30]), keyboard.screen
        assert keyboard.read_until("\n> ")
        inbox = run_cli(["inbox", "--jsonl", "--config", str(config)])
        case_ref = inbox.stdout.split('"case_ref": "')[1][:9]
        keyboard.screen = ""
        written = run_cli(["write", "--config", str(config), case_ref, "I will call you tonight"])
        assert written.stdout.strip() == nl("desk.passed_on"), written.stderr
        relayed = en(
            "line.from_adviser", adviser="Sanne", case_ref=case_ref, text="I will call you tonight"
        )
        assert keyboard.read_until(relayed + "\n\n> ", seconds=20), keyboard.screen
    finally:
        keyboard.kill()
