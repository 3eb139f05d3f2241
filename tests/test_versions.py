"""Which version runs, and a database it is too old for."""

from __future__ import annotations

import sqlite3
from importlib.metadata import version
from pathlib import Path

from tests.conftest import jsonl, run_cli, write_config

INSTALLED = version("vertrouwd")  # as pyproject.toml says


def dump(database: Path) -> list[str]:
    raw = sqlite3.connect(database)
    try:
        return list(raw.iterdump())
    finally:
        raw.close()


def test_version_prints_the_installed_version():
    done = run_cli(["--version"])
    assert done.returncode == 0
    assert done.stdout.strip() == f"vertrouwd {INSTALLED}"


def test_an_older_program_refuses_a_newer_database_with_one_clear_line(tmp_path: Path):
    config = write_config(tmp_path)
    first = run_cli(["chat", "--jsonl", "--config", str(config)], stdin=jsonl({"text": "hi"}))
    assert first.returncode == 0, first.stderr
    database = tmp_path / "data" / "vertrouwd.sqlite3"
    with sqlite3.connect(database) as raw:
        assert raw.execute("SELECT version FROM written_by").fetchall() == [(INSTALLED,)]
        raw.execute("INSERT INTO schema_version (version) VALUES (999)")
        raw.execute("UPDATE written_by SET version = '2.0.0'")
    before = dump(database)
    done = run_cli(["chat", "--jsonl", "--config", str(config)], stdin=jsonl({"text": "hi"}))
    assert done.returncode == 2
    assert "written by a newer vertrouwd (2.0.0)" in done.stderr
    assert f"this is vertrouwd {INSTALLED}" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # nobody was answered from a database it cannot read
    assert dump(database) == before


def test_a_newer_local_inbox_is_refused_as_well(tmp_path: Path):
    config = write_config(tmp_path)
    first = run_cli(["chat", "--jsonl", "--config", str(config)], stdin=jsonl({"text": "hi"}))
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(tmp_path / "data" / "adviser-inbox.sqlite3") as raw:
        raw.execute("INSERT INTO schema_version (version) VALUES (999)")
    done = run_cli(["inbox", "--config", str(config)])
    assert done.returncode == 2
    assert "the local inbox adviser-inbox.sqlite3 was written by a newer vertrouwd" in done.stderr
    assert "Traceback" not in done.stderr
