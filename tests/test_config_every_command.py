"""Every command checks the whole config file, whichever parts of it the command uses.

`vertrouwd chat` used to start on a config whose Telegram section or data folder was
wrong, because the chat in the terminal uses neither. Now each mistake stops every
command the same way: one line naming the setting, exit code 2, nothing started.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.faults import one_error_line

# The four mistakes a newcomer's `vertrouwd chat` accepted, and the line each gets.
MISTAKES = {
    "data_dir": ("[bot]\ndata_dir = 5\n", "bot.data_dir: must be a path in quotes, got 5"),
    "no token": (
        "[telegram]\nenabled = true\n",
        "telegram.token_file: needed when Telegram is on (or set VERTROUWD_TELEGRAM_TOKEN)",
    ),
    "push": (
        '[telegram]\nmode = "push"\n',
        "telegram.mode: must be one of polling, webhook, got 'push'",
    ),
    "port": ("[web]\nport = 99999\n", "web.port: 99999 is too large (at most 65535)"),
}

# Every command that reads a config (`keys new` makes a key file and reads none).
COMMANDS = {
    "chat": ["chat", "--jsonl"],
    "run": ["run"],
    "inbox": ["inbox"],
    "write": ["write", "ACDE-FGHJ", "!status"],
    "doctor": ["doctor"],
    "backup": ["backup", "the-backup"],
    "restore": ["restore", "the-backup"],
    "matrix setup": ["matrix", "setup", "--adviser", "adviser-a"],
    "matrix repin": ["matrix", "repin", "adviser-a"],
    "report": ["report", "--year", "2026"],
    "poster": ["poster", "--out", "poster.svg"],
    "init": ["init", "--non-interactive"],
    "keys rotate": ["keys", "rotate"],
    "texts check": ["texts", "check"],
}


def refused(tmp_path: Path, toml: str, command: list[str]) -> str:
    """The one line `command` answers on this config; nothing may have been made (init
    keeps its answers, to go on from them once the config is fixed)."""
    config = tmp_path / "config.toml"
    config.write_text(toml)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run_cli([*command, "--config", str(config)], stdin="", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    made = sorted(p.name for p in tmp_path.iterdir())
    if command[0] == "init":
        assert made == sorted([*before, ".config.toml.partial"])
        return done.stderr.splitlines()[0].replace("vertrouwd init: ConfigError:", "vertrouwd:")
    assert made == before  # no data folder, no file
    return one_error_line(done)


@pytest.mark.parametrize("mistake", MISTAKES)
def test_the_terminal_chat_refuses_each_mistake_in_parts_it_does_not_use(
    tmp_path: Path, mistake: str
):
    toml, line = MISTAKES[mistake]
    assert line in refused(tmp_path, toml, COMMANDS["chat"])


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_config_that_is_wrong_anywhere(tmp_path: Path, command: str):
    # Each command gets one of the four mistakes in turn (all four: the test above).
    toml, line = list(MISTAKES.values())[list(COMMANDS).index(command) % len(MISTAKES)]
    assert line in refused(tmp_path, toml, COMMANDS[command])
