"""Damage never hides a record: one byte flipped anywhere in the local inbox file
either changes nothing the adviser sees, or is named; never fewer handoffs in
silence. And a missing key is named as a missing key, not as damage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config
from bot.runtime import open_runtime
from bot.sinks.base import CasePosts
from tests.conftest import Person, write_config

HANDOFFS = 6
# How damage is named (the inbox speaks the default language, Dutch): the file as a
# whole, one request or message, or the gap against the inbox's own count.
NAMED = (
    "vertrouwd: database ",  # + the inbox file's path, from bot/store/connection.py
    "het bestand van de inbox beschadigd is",
    "het bestand van de inbox is beschadigd",
    "Het bestand van de inbox is beschadigd",
)


@pytest.fixture(scope="module")
def six_handoffs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("six")
    config = load_config(write_config(folder), environ={})

    async def fill() -> None:
        async with open_runtime(config) as runtime:
            for n in range(HANDOFFS):
                await Person(runtime, f"person{n}").full_intake(f"Description number {n}")
            await runtime.worker.deliver_due()

    asyncio.run(fill())
    return folder


def inbox(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    capsys.readouterr()
    code = main(["inbox", "--jsonl", "--config", str(folder / "config.toml")])
    out, err = capsys.readouterr()
    return code, [json.loads(line)["case_ref"] for line in out.splitlines()], err


def test_every_flipped_byte_in_the_inbox_file_is_harmless_or_named(
    six_handoffs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, listed, err = inbox(six_handoffs, capsys)
    assert code == 0 and len(listed) == HANDOFFS, err
    original = (six_handoffs / "data" / "adviser-inbox.sqlite3").read_bytes()
    chance = random.Random(20261203)
    outcomes = {"harmless": 0, "named": 0}
    for attempt in range(60):
        folder = tmp_path / f"flip{attempt}"
        shutil.copytree(six_handoffs, folder)
        at = chance.randrange(len(original))
        flipped = bytearray(original)
        flipped[at] ^= 1 << chance.randrange(8)
        (folder / "data" / "adviser-inbox.sqlite3").write_bytes(bytes(flipped))
        code, shown, err = inbox(folder, capsys)
        assert "Traceback" not in err
        if code == 0:
            assert sorted(shown) == sorted(listed), f"byte {at}: {len(shown)} shown, rc 0"
            outcomes["harmless"] += 1
        else:
            assert any(named in err for named in NAMED), f"byte {at}: {err}"
            outcomes["named"] += 1
    print(outcomes)


def test_a_handoff_row_gone_from_the_file_is_named_as_a_gap(
    six_handoffs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "gap"
    shutil.copytree(six_handoffs, folder)
    with contextlib.closing(sqlite3.connect(folder / "data" / "adviser-inbox.sqlite3")) as db:
        # As a damaged page would: the row is gone, the inbox's own count is not told.
        db.execute("DROP TRIGGER handoff_removed")
        db.execute("DELETE FROM handoffs WHERE rowid = (SELECT min(rowid) FROM handoffs)")
        db.commit()
    code, shown, err = inbox(folder, capsys)
    assert code == 1
    assert len(shown) == HANDOFFS - 1
    assert f"{HANDOFFS} aanvragen ontvangen die nog bewaard worden" in err
    assert f"maar er zijn er maar {HANDOFFS - 1} te vinden" in err


def test_a_handoff_past_its_term_leaves_no_gap(
    six_handoffs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "removed"
    shutil.copytree(six_handoffs, folder)
    code, listed, _err = inbox(folder, capsys)
    config = load_config(folder / "config.toml", environ={})

    async def remove_one() -> None:
        async with open_runtime(config) as runtime:
            await runtime.inbox.remove_posts(CasePosts(listed[0], "", "", ()))

    asyncio.run(remove_one())
    code, shown, err = inbox(folder, capsys)
    assert code == 0, err
    assert sorted(shown) == sorted(listed[1:])


def test_a_key_file_without_the_data_key_version_is_named_not_damage(
    six_handoffs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "rotated"
    shutil.copytree(six_handoffs, folder)
    key_file = folder / "data" / "secret.key"
    before_rotation = key_file.read_bytes()
    capsys.readouterr()
    assert main(["keys", "rotate", "--config", str(folder / "config.toml"), "--settle", "0"]) == 0
    # The off-site copy from before the rotation, put back.
    key_file.write_bytes(before_rotation)
    code, shown, err = inbox(folder, capsys)
    assert code == 1 and shown == []
    assert err.count("versleuteld met versie 2 van de datasleutel") == HANDOFFS
    assert "omdat het bestand van de inbox beschadigd is" not in err
