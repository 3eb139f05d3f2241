"""A damaged page is found: by `vertrouwd doctor`, by `vertrouwd backup` on its copy,
and at start (within a time bound; bench/page_check.py measures it at 10^6 rows)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import connection
from tests.conftest import run_cli, write_config
from tests.faults import INTAKE, chat, one_error_line, snapshot

PAGE_TYPE_OFFSET = 0  # a b-tree page begins with its type: 2, 5, 10 or 13


def break_an_index_page(database: Path) -> None:
    """Turn the root page of one of the store's indexes into garbage, as a bad disk
    sector would: the table's rows still read, the index no longer does."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        [(root,)] = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'conversations_updated_at'"
        ).fetchall()
    data = bytearray(database.read_bytes())
    data[(root - 1) * page_size + PAGE_TYPE_OFFSET] = 0x7F
    database.write_bytes(bytes(data))


@pytest.fixture
def used(tmp_path: Path) -> Path:
    config = write_config(tmp_path)
    chat(config, "robin", *INTAKE)
    return config


def test_doctor_names_a_damaged_database_page(used: Path):
    break_an_index_page(used.parent / "data" / "vertrouwd.sqlite3")
    result = run_cli(["doctor", "--config", str(used)])
    assert result.returncode == 2
    line = one_error_line(result)
    assert "vertrouwd.sqlite3" in line and "restore the data folder from a backup" in line


def test_doctor_says_it_checked_every_page_of_a_sound_folder(used: Path):
    result = run_cli(["doctor", "--config", str(used)])
    assert "data files" in result.stdout
    assert "2 database(s) checked page by page (PRAGMA quick_check)" in result.stdout
    assert "the local inbox holds all 1 request(s) it received" in result.stdout


def test_a_backup_of_a_damaged_database_is_refused_and_names_it(used: Path, tmp_path: Path):
    break_an_index_page(used.parent / "data" / "vertrouwd.sqlite3")
    result = run_cli(["backup", str(tmp_path / "backup"), "--config", str(used)])
    assert result.returncode == 2
    line = one_error_line(result)
    assert "backup failed: vertrouwd.sqlite3" in line and "vertrouwd doctor" in line


def test_a_start_whose_page_check_runs_out_of_time_goes_on_and_doctor_still_finds_it(
    used: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    data = used.parent / "data"
    break_an_index_page(data / "vertrouwd.sqlite3")
    # As with a file far too big for the bound: out of time at the first look.
    monkeypatch.setattr(connection, "START_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(connection, "_PROGRESS_STEPS", 1)
    before = snapshot(data)
    assert main(["doctor", "--config", str(used)]) == 2
    _out, err = capsys.readouterr()
    assert "vertrouwd.sqlite3" in err and "restore the data folder from a backup" in err
    assert "the page check at start stopped after 0 s" in caplog.text
    assert snapshot(data) == before
