"""A data folder written by an earlier vertrouwd opens in this one with every record
intact (tests/fixtures/upgrade-a541adb/README.md says which version wrote it)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from bot.config import load_config
from bot.runtime import open_runtime
from tests.conftest import ROOT, FakeClock, run_cli

FIXTURE = ROOT / "tests" / "fixtures" / "upgrade-a541adb"
# The fixture's own clock (tests.conftest.FakeClock, three hours on): read at a later
# real date, the halfway intake would have expired, as it should.
WRITTEN_AT = 1_790_000_000.0 + 4 * 3600


def old_data_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "old"
    shutil.copytree(FIXTURE, folder)
    (folder / "data").chmod(0o700)
    (folder / "data" / "secret.key").chmod(0o600)  # git keeps no file modes
    return folder


def schema_version(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT max(version) FROM schema_version").fetchone()[0])


async def test_every_case_handoff_and_thread_of_the_old_version_reads_after_the_upgrade(
    tmp_path: Path,
):
    folder = old_data_folder(tmp_path)
    expected = json.loads((folder / "expected.json").read_text())
    inbox_before = schema_version(folder / "data" / "adviser-inbox.sqlite3")
    config = load_config(folder / "config.toml", environ={})
    async with open_runtime(config, FakeClock(WRITTEN_AT)) as runtime:
        items = {item.payload["case_ref"]: item for item in await runtime.inbox.items()}
        assert sorted(items) == sorted(expected["cases"])
        for case_ref, case in expected["cases"].items():
            assert items[case_ref].payload["answers"]["description"] == case["description"]
            assert await runtime.store.case(case_ref) is not None
            thread = await runtime.inbox.thread(case_ref)
            assert all(post in thread for post in case["thread"]), thread
        for user in expected["halfway"]:
            record = await runtime.store.load_conversation(runtime.engine._keyer("terminal", user))
            assert record is not None
            assert "Halfway through a description" in json.dumps(record.data)
    assert schema_version(folder / "data" / "adviser-inbox.sqlite3") >= inbox_before


def test_the_inbox_command_lists_every_old_handoff_and_names_no_damage(tmp_path: Path):
    folder = old_data_folder(tmp_path)
    expected = json.loads((folder / "expected.json").read_text())
    done = run_cli(["inbox", "--jsonl", "--config", str(folder / "config.toml")])
    assert done.returncode == 0, done.stderr
    listed = [json.loads(line)["case_ref"] for line in done.stdout.splitlines()]
    assert sorted(listed) == sorted(expected["cases"])
    assert "damaged" not in done.stderr
