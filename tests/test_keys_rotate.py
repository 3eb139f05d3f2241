"""`vertrouwd keys rotate`: every stored field sealed again with a new data key, the old
key retired; offline, interrupted and resumed, and while the bot runs."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import DecryptionError, FieldCipher, read_key_file, retiring_versions
from bot.keys.rotation import start_rotation
from bot.runtime import Runtime, open_runtime
from bot.sinks.local_inbox import INBOX_FILE
from bot.store import SqliteStore
from bot.store.reseal import reseal_columns
from bot.store.sealed_fields import SEALED_COLUMNS
from tests.conftest import ROOT, Person, run_cli, write_config
from tests.test_line import Employee, adviser_writes, sent_case

CANARY = "NarwhalCanary5150"
# Every sealed field: (database file, table, column).
SEALED = [
    (STORE_FILE, "conversations", "sealed"),
    (STORE_FILE, "outbox", "sealed"),
    (STORE_FILE, "cases", "sealed"),
    (STORE_FILE, "relays", "sealed"),
    (INBOX_FILE, "handoffs", "sealed"),
    (INBOX_FILE, "thread_posts", "sealed"),
]


async def fill(runtime: Runtime) -> str:
    """Something in every sealed place: a delivered case with its line, a relay not
    yet sent, and someone halfway through an intake."""
    employee = Employee(runtime, "alice")
    employee.listen()
    case_ref = await sent_case(employee)
    await employee.say(f"and also {CANARY}")
    await runtime.relay.deliver_due()
    del runtime.relay.senders["terminal"]  # the employee's chat is away for a while
    await adviser_writes(runtime, case_ref, f"Shall we meet, {CANARY}?", "$k1")
    halfway = Person(runtime, "bob")
    await halfway.until_topic()
    await halfway.pick("bullying")
    await halfway.say(f"it is {CANARY}")
    return case_ref


def sealed_fields(data_dir: Path) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for file, table, column in SEALED:
        with sqlite3.connect(data_dir / file) as db:
            rows = db.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")
            found[table] = [row[0] for row in rows]
    return found


def assert_only_version(data_dir: Path, version: int) -> None:
    fields = sealed_fields(data_dir)
    # Every place holds something to check; a delivered handoff's outbox row has lost
    # its content (tests/test_store_contract.py re-seals an undelivered one).
    assert all(blobs for table, blobs in fields.items() if table != "outbox"), fields
    prefix = version.to_bytes(2, "big")
    assert all(blob.startswith(prefix) for blobs in fields.values() for blob in blobs)


def assert_old_key_opens_nothing(data_dir: Path, old_key_file: Path) -> None:
    old = FieldCipher(read_key_file(old_key_file))
    for blobs in sealed_fields(data_dir).values():
        for blob in blobs:
            with pytest.raises(DecryptionError):
                old.open(blob, b"whatever it was bound to")


async def assert_everything_reads(config: Config, case_ref: str) -> None:
    async with open_runtime(config) as runtime:
        assert await runtime.store.case(case_ref) is not None
        [item] = await runtime.inbox.items()
        assert item.payload["answers"]["description"] == "My manager shouts at me"
        assert any(CANARY in post for post in await runtime.inbox.thread(case_ref))
        record = await runtime.store.load_conversation(runtime.engine._keyer("terminal", "bob"))
        assert record is not None and CANARY in json.dumps(record.data)
    for path in config.bot.data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name


async def test_rotating_offline_reseals_everything_and_retires_the_old_key(tmp_path: Path):
    config = load_config(write_config(tmp_path), environ={})
    async with open_runtime(config) as runtime:
        case_ref = await fill(runtime)
    old_key = tmp_path / "old.key"
    shutil.copy(config.key_file, old_key)
    assert_only_version(config.bot.data_dir, 1)

    done = run_cli(["keys", "rotate", "--config", str(tmp_path / "config.toml"),
                    "--settle", "0", "--batch", "2"])  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "added data key version 2" in done.stdout
    assert "retired version(s) 1; only version 2 is left" in done.stdout
    material = read_key_file(config.key_file)
    assert (sorted(material.data_keys), material.current) == ([2], 2)
    assert retiring_versions(config.key_file) == ()
    assert read_key_file(old_key).lookup_key == material.lookup_key  # lookups still match
    assert os.stat(config.key_file).st_mode & 0o077 == 0
    assert_only_version(config.bot.data_dir, 2)
    assert_old_key_opens_nothing(config.bot.data_dir, old_key)
    await assert_everything_reads(config, case_ref)


async def test_an_interrupted_rotation_goes_on_and_adds_no_second_key(tmp_path: Path):
    config = load_config(write_config(tmp_path), environ={})
    async with open_runtime(config) as runtime:
        case_ref = await fill(runtime)
    # Stopped after the new key was added and the first table re-sealed.
    material, retiring, added = start_rotation(config.key_file)
    assert (added, retiring, material.current) == (True, (1,), 2)
    cipher = FieldCipher(material)
    store = await SqliteStore.open(
        config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
    )
    await reseal_columns(store._db, store._write_lock, cipher, SEALED_COLUMNS[:1], 1)
    await store.close()

    done = run_cli(["keys", "rotate", "--config", str(tmp_path / "config.toml"), "--settle", "0"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "going on with the rotation to version 2" in done.stdout
    material = read_key_file(config.key_file)
    assert (sorted(material.data_keys), material.current) == ([2], 2)
    assert_only_version(config.bot.data_dir, 2)
    await assert_everything_reads(config, case_ref)


async def test_rotating_while_the_bot_runs_loses_nothing_written_meanwhile(tmp_path: Path):
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("[bot]\n", "[bot]\ntexts_reload_seconds = 0.2\n"))
    config = load_config(path, environ={})
    async with open_runtime(config) as runtime:
        case_ref = await fill(runtime)
        rotation = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "keys", "rotate", "--config", str(path),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        # Meanwhile people keep writing, before and after the bot takes up the new key.
        for number in range(6):
            late = Person(runtime, f"late-{number}")
            await late.until_topic()
            await late.pick("bullying")
            await late.say(f"during the rotation {CANARY}")
            await asyncio.sleep(0.3)
        out, err = await rotation.communicate()
        assert await rotation.wait() == 0, (out + err).decode()
        await asyncio.sleep(0.5)  # the bot drops the retired key as well
        assert runtime.store._cipher.prefix == b"\x00\x02"
        late = Person(runtime, "late-0")
        await late.say("Sam")  # its conversation, sealed before and after, still opens
        record = await runtime.store.load_conversation(runtime.engine._keyer("terminal", "late-0"))
        assert record is not None and CANARY in json.dumps(record.data)
    assert_only_version(config.bot.data_dir, 2)
    await assert_everything_reads(config, case_ref)


async def test_a_kind_of_record_it_cannot_reseal_keeps_the_old_key(tmp_path: Path):
    config = load_config(write_config(tmp_path), environ={})
    async with open_runtime(config) as runtime:
        await fill(runtime)
    # A newer version's records (say, a web chat's sessions), sealed with key 1.
    old = FieldCipher(read_key_file(config.key_file))
    with sqlite3.connect(config.bot.data_dir / STORE_FILE) as db:
        db.execute("CREATE TABLE web_sessions (id INTEGER PRIMARY KEY, sealed BLOB)")
        db.execute("INSERT INTO web_sessions (sealed) VALUES (?)", (old.seal(b"hi", b"web"),))
    done = run_cli(["keys", "rotate", "--config", str(tmp_path / "config.toml"), "--settle", "0"])
    assert done.returncode == 1
    assert "web_sessions.sealed: holds values sealed with a retiring key" in done.stdout
    material = read_key_file(config.key_file)
    assert sorted(material.data_keys) == [1, 2]  # nothing is retired
    assert retiring_versions(config.key_file) == (1,)
    with sqlite3.connect(config.bot.data_dir / STORE_FILE) as db:
        [(sealed,)] = db.execute("SELECT sealed FROM web_sessions").fetchall()
    assert FieldCipher(material).open(sealed, b"web") == b"hi"  # still opens
