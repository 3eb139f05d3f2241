"""A full disk, for real: a small tmpfs. Each step that cannot be written gets a calm
reply, nothing half-written stays, and the same intake goes on once space is back."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.texts.catalog import Texts
from tests.conftest import run_cli
from tests.faults import INTAKE, fill, one_error_line, small_tmpfs, snapshot
from tests.jsonl_session import JsonlSession


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "2m") as mount:
        if mount is None:
            pytest.skip("mounting a small tmpfs needs root")
        yield mount


def full(disk: Path) -> Path:
    filler = fill(disk)
    with pytest.raises(OSError) as refused:
        (disk / "one-more").write_bytes(b"\0" * 4_096)
    assert refused.value.errno == errno.ENOSPC
    return filler


def test_a_full_disk_loses_nothing_and_the_intake_is_delivered_once(
    small_disk: Path, tmp_path: Path, en: Texts
):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{small_disk / "data"}"\n[limits]\nburst_messages = 10000\n'
        "[outbox]\nretry_initial_seconds = 0.2\nretry_max_seconds = 1.0\n"
    )
    session = JsonlSession(config, "robin", log_level="WARNING")
    for message in INTAKE[:5]:
        session.send(message)
    filler = full(small_disk)
    calm = en("input.error")
    refused, position, answers = 0, 5, []
    while position < len(INTAKE):
        if position == len(INTAKE) - 1 and refused == 2 and not filler.exists():
            filler = full(small_disk)  # full again for the confirmation with its handoff
        replies = session.send(INTAKE[position])
        if [r["text"] for r in replies] == [calm]:
            refused += 1
            if refused in (2, 4):
                filler.unlink()  # space is back; the same message is sent again
            continue
        answers.append(replies[-1]["text"])
        position += 1
    assert refused == 4
    log = session.close()
    assert "Traceback" not in log
    [handoff] = [
        json.loads(line)
        for line in run_cli(["inbox", "--jsonl", "--config", str(config)]).stdout.splitlines()
    ]
    assert handoff["handoff"]["answers"]["name"] == "Robin"
    assert handoff["handoff"]["answers"]["description"] == INTAKE[6]["text"]
    for name in ("vertrouwd.sqlite3", "adviser-inbox.sqlite3"):
        with contextlib.closing(sqlite3.connect(small_disk / "data" / name)) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert os.statvfs(small_disk).f_bavail > 0


def test_a_start_on_a_full_disk_says_so_and_sends_nobody_to_the_backup(
    small_disk: Path, tmp_path: Path
):
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "{small_disk / "data"}"\n')
    assert run_cli(["chat", "--jsonl", "--config", str(config)], stdin="").returncode == 0
    filler = full(small_disk)
    before = snapshot(small_disk / "data")
    result = run_cli(["chat", "--jsonl", "--config", str(config)], stdin='{"text": "hi"}\n')
    assert result.returncode == 2
    line = one_error_line(result)
    assert "the disk is full" in line and "restore" not in line
    assert snapshot(small_disk / "data") == before
    filler.unlink()
    assert run_cli(["chat", "--jsonl", "--config", str(config)], stdin="").returncode == 0
