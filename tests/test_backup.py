"""`vertrouwd backup` while the bot works, and `vertrouwd restore`: everything back,
still sealed, never the key; refused while a bot runs or with another key."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from bot.keys.crypto import new_key_material, write_key_file
from tests.conftest import run_cli, write_config
from tests.faults import INTAKE, chat, one_error_line, snapshot
from tests.jsonl_session import JsonlSession

TABLES = {
    "vertrouwd.sqlite3": ("outbox", "cases", "relays", "timers"),
    "adviser-inbox.sqlite3": ("handoffs", "thread_posts"),
}


def counts(data: Path) -> dict[str, int]:
    found = {}
    for name, tables in TABLES.items():
        with contextlib.closing(sqlite3.connect(data / name)) as db:
            for table in tables:
                found[table] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return found


def case_ref(config: Path) -> str:
    [line] = run_cli(["inbox", "--jsonl", "--config", str(config)]).stdout.splitlines()
    return str(json.loads(line)["case_ref"])


def test_a_backup_during_traffic_restores_every_handoff_case_relay_and_timer(tmp_path: Path):
    # Short retries: the busy person's process also tries (and defers) robin's relay.
    config = write_config(
        tmp_path, "[outbox]\nretry_initial_seconds = 0.1\nretry_max_seconds = 0.3\n"
    )
    data = tmp_path / "data"
    chat(config, "robin", *INTAKE)
    ref = case_ref(config)
    wrote = run_cli(["write", ref, "Adviser here, QuietCanary42", "--config", str(config)])
    assert wrote.returncode == 0, wrote.stderr
    # Another person keeps the bot busy while the backup is taken.
    busy = JsonlSession(config, "sam", log_level="WARNING")
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            busy.send({"text": "hello"})

    writer = threading.Thread(target=traffic)
    writer.start()
    try:
        result = run_cli(["backup", str(tmp_path / "backup"), "--config", str(config)])
    finally:
        stop.set()
        writer.join()
    busy.close()
    assert result.returncode == 0, result.stderr
    assert "The key file is NOT in the backup" in result.stdout
    assert str(config.parent / "data" / "secret.key") in result.stdout
    before = counts(data)
    assert before["cases"] == 1 and before["timers"] >= 1 and before["relays"] >= 1
    key = (data / "secret.key").read_bytes()
    backup = snapshot(tmp_path / "backup")
    assert "secret.key" not in backup
    assert not any(b"QuietCanary42" in content or key in content for content in backup.values())

    for path in data.glob("*.sqlite3*"):
        path.unlink()  # the disk is lost; the key file was kept elsewhere
    restored = run_cli(["restore", str(tmp_path / "backup"), "--config", str(config)])
    assert restored.returncode == 0, restored.stderr
    assert counts(data) == before
    assert case_ref(config) == ref
    # The adviser's message, waiting in the restored store, reaches the employee.
    time.sleep(0.5)  # its next attempt is due
    again = chat(config, "robin", {"text": "/mydata"})
    assert "QuietCanary42" in again.stdout


def backed_up(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path)
    chat(config, "robin", *INTAKE[:4])
    result = run_cli(["backup", str(tmp_path / "backup"), "--config", str(config)])
    assert result.returncode == 0, result.stderr
    chat(config, "kim", {"text": "hello"})  # the data moved on since
    return config, tmp_path / "data"


def test_restore_is_refused_while_a_bot_runs_on_the_data_folder(tmp_path: Path):
    config, data = backed_up(tmp_path)
    fd = os.open(data / "run.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as `vertrouwd run` holds it
        before = snapshot(data)
        result = run_cli(["restore", str(tmp_path / "backup"), "--config", str(config)])
    finally:
        os.close(fd)
    assert result.returncode == 2
    assert f"a bot is running on {data}" in one_error_line(result)
    assert snapshot(data) == before


def test_restore_is_refused_with_another_key_file(tmp_path: Path):
    config, data = backed_up(tmp_path)
    (data / "secret.key").unlink()
    write_key_file(data / "secret.key", new_key_material())
    before = snapshot(data)
    result = run_cli(["restore", str(tmp_path / "backup"), "--config", str(config)])
    assert result.returncode == 2
    assert "was not made with the key file in use" in one_error_line(result)
    assert snapshot(data) == before


def test_backup_into_a_folder_with_something_in_it_is_refused(tmp_path: Path):
    config, _data = backed_up(tmp_path)
    result = run_cli(["backup", str(tmp_path / "backup"), "--config", str(config)])
    assert result.returncode == 2
    assert "exists and is not empty" in one_error_line(result)
