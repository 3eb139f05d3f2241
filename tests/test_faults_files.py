"""Broken files, run as real processes: one clear line, exit code 2, nothing changed."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.keys.crypto import new_key_material, write_key_file
from bot.texts.catalog import Texts
from tests.conftest import ROOT, run_cli, write_config
from tests.faults import (
    COMMANDS,
    INTAKE,
    chat,
    config_with_channel,
    flip_byte_in_blob,
    one_error_line,
    run,
    snapshot,
)


@pytest.fixture(scope="module")
def used_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after one delivered intake (a case, its timers) and one started."""
    folder = tmp_path_factory.mktemp("used")
    config = config_with_channel(folder)
    chat(config, "robin", *INTAKE)
    chat(config, "sam", {"text": "hello"})
    return folder / "data"


def copy_of(used_data: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(used_data, tmp_path / "data")
    return config_with_channel(tmp_path)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_truncated_database_is_named_and_nothing_hangs(
    used_data: Path, tmp_path: Path, command: str
):
    config = copy_of(used_data, tmp_path)
    store = tmp_path / "data" / "vertrouwd.sqlite3"
    with open(store, "r+b") as handle:
        handle.truncate(20_000)
    before = snapshot(tmp_path / "data")
    result = run(config, command)
    assert result.returncode == 2
    line = one_error_line(result)
    assert str(store) in line and "restore" in line
    assert snapshot(tmp_path / "data") == before


def test_a_file_that_is_no_database_at_all_is_named(used_data: Path, tmp_path: Path):
    config = copy_of(used_data, tmp_path)
    inbox = tmp_path / "data" / "adviser-inbox.sqlite3"
    inbox.write_bytes(b"this is not a database" * 100)
    before = snapshot(tmp_path / "data")
    for command in ("chat", "inbox"):
        result = run(config, command)
        assert result.returncode == 2
        assert str(inbox) in one_error_line(result)
    assert snapshot(tmp_path / "data") == before


def test_a_lost_key_file_stops_the_start_and_no_new_key_is_made(used_data: Path, tmp_path: Path):
    config = copy_of(used_data, tmp_path)
    key = tmp_path / "data" / "secret.key"
    key.unlink()
    before = snapshot(tmp_path / "data")
    for command in sorted(COMMANDS):
        result = run(config, command)
        assert result.returncode == 2, command
        line = one_error_line(result)
        assert f"key file {key} is missing" in line and "put the key file back" in line
        assert not key.exists()
    assert snapshot(tmp_path / "data") == before


def test_another_key_file_is_refused_before_anything_is_read(used_data: Path, tmp_path: Path):
    config = copy_of(used_data, tmp_path)
    key = tmp_path / "data" / "secret.key"
    key.unlink()
    write_key_file(key, new_key_material())
    before = snapshot(tmp_path / "data")
    for command in sorted(COMMANDS):
        result = run(config, command)
        assert result.returncode == 2, command
        line = one_error_line(result)
        assert "was sealed with another key file" in line and "storage.key_file" in line
    assert snapshot(tmp_path / "data") == before


def test_the_database_holds_the_keys_fingerprint_never_the_key(used_data: Path):
    key = json.loads((used_data / "secret.key").read_text())
    for name in ("vertrouwd.sqlite3", "adviser-inbox.sqlite3"):
        with contextlib.closing(sqlite3.connect(used_data / name)) as db:
            [(fingerprint,)] = db.execute("SELECT fingerprint FROM key_fingerprint").fetchall()
        assert len(fingerprint) == 64
        raw = (used_data / name).read_bytes()
        for secret in (key["lookup_key"], *key["data_keys"].values()):
            import base64

            assert base64.b64decode(secret) not in raw and secret.encode() not in raw


def test_one_flipped_byte_hides_one_handoff_not_the_inbox(tmp_path: Path, en: Texts):
    config = write_config(tmp_path)
    chat(config, "robin", *INTAKE)
    chat(config, "kim", *INTAKE)
    inbox_file = tmp_path / "data" / "adviser-inbox.sqlite3"
    with contextlib.closing(sqlite3.connect(inbox_file)) as db:
        refs = [r for (r,) in db.execute("SELECT txn_id FROM handoffs ORDER BY received_at")]
    broken_ref = refs[0].removeprefix("vertrouwd-handoff-")
    flip_byte_in_blob(inbox_file, "handoffs", f"txn_id = '{refs[0]}'")
    result = run_cli(["inbox", "--jsonl", "--config", str(config)])
    # Not everything could be shown: said, and the exit code says so too.
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [shown] = [json.loads(line) for line in result.stdout.splitlines()]
    assert shown["case_ref"] == refs[1].removeprefix("vertrouwd-handoff-")
    nl_line = "Zaak " + broken_ref  # the inbox speaks the default language
    assert nl_line in result.stderr
    assert f"handoff of case {broken_ref} cannot be read" in result.stderr


def test_an_unreadable_conversation_is_said_and_delete_clears_the_way(tmp_path: Path, en: Texts):
    config = write_config(tmp_path)
    chat(config, "robin", *INTAKE[:6])
    flip_byte_in_blob(tmp_path / "data" / "vertrouwd.sqlite3", "conversations", "1 = 1")
    # The plain word works as /delete does (the text names both).
    result = chat(config, "robin", {"text": "/mydata"}, {"text": "delete"}, {"text": "hello"})
    texts = [m["text"] for m in map(json.loads, result.stdout.splitlines()) if "text" in m]
    assert texts[0] == en("faults.conversation_unreadable")
    assert en("delete.done") in texts
    assert texts[-1] == en("menu.prompt")
    assert "Traceback" not in result.stderr


def test_two_first_starts_at_once_make_one_schema(tmp_path: Path):
    config = write_config(tmp_path)  # the data folder does not exist yet
    starts = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "bot", "chat", "--jsonl", "--config", str(config)),
                *("--user", f"p{n}", "--lang", "en"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(4)
    ]
    results = [p.communicate('{"text": "hello"}\n', timeout=60) for p in starts]
    for process, (stdout, stderr) in zip(starts, results, strict=True):
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert '"waiting": true' in stdout
    for name in ("vertrouwd.sqlite3", "adviser-inbox.sqlite3"):
        with contextlib.closing(sqlite3.connect(tmp_path / "data" / name)) as db:
            versions = [v for (v,) in db.execute("SELECT version FROM schema_version")]
        assert len(versions) == len(set(versions)) and 20 in versions


def test_a_damaged_key_file_is_named(used_data: Path, tmp_path: Path):
    config = copy_of(used_data, tmp_path)
    key = tmp_path / "data" / "secret.key"
    key.write_bytes(key.read_bytes()[:40])
    before = snapshot(tmp_path / "data")
    for command in ("chat", "inbox", "write"):
        result = run(config, command)
        assert result.returncode == 2
        assert f"key file {key} is not a valid vertrouwd key file" in one_error_line(result)
    assert snapshot(tmp_path / "data") == before


def test_an_unreadable_relay_is_named_and_the_next_still_goes(tmp_path: Path):
    config = write_config(tmp_path)
    chat(config, "robin", *INTAKE)
    chat(config, "kim", *INTAKE)
    listed = run_cli(["inbox", "--jsonl", "--config", str(config)]).stdout.splitlines()
    robin_ref, kim_ref = sorted(
        (json.loads(line) for line in listed), key=lambda item: item["received_at"]
    )
    for case in (robin_ref, kim_ref):
        text = f"Adviser to {case['case_ref']}"
        wrote = run_cli(["write", case["case_ref"], text, "--config", str(config)])
        assert wrote.returncode == 0, wrote.stderr
    broken = robin_ref["case_ref"]
    flip_byte_in_blob(
        tmp_path / "data" / "vertrouwd.sqlite3",
        "relays",
        f"case_ref = '{broken}' AND direction = 'to_employee'",
    )
    result = chat(config, "kim", {"text": "/mydata"})
    assert f"Adviser to {kim_ref['case_ref']}" in result.stdout
    assert f"case {broken}: a relay cannot be decrypted" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_from_before_fingerprints_is_bound_only_to_a_key_that_opens_it(
    used_data: Path, tmp_path: Path
):
    config = copy_of(used_data, tmp_path)
    data = tmp_path / "data"
    for name in ("vertrouwd.sqlite3", "adviser-inbox.sqlite3"):
        with contextlib.closing(sqlite3.connect(data / name)) as db:
            db.executescript(
                "DROP TABLE key_fingerprint; DELETE FROM schema_version WHERE version = 20;"
            )
    own_key = (data / "secret.key").read_bytes()
    (data / "secret.key").unlink()
    write_key_file(data / "secret.key", new_key_material())
    result = run(config, "chat")
    assert result.returncode == 2
    assert "holds data that does not open with this key file" in one_error_line(result)
    (data / "secret.key").unlink()
    (data / "secret.key").write_bytes(own_key)
    (data / "secret.key").chmod(0o600)
    assert run(config, "inbox").returncode == 0
    with contextlib.closing(sqlite3.connect(data / "vertrouwd.sqlite3")) as db:
        assert db.execute("SELECT COUNT(*) FROM key_fingerprint").fetchone() == (1,)
