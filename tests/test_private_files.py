"""Files private from the first byte: the umask, an open data folder, planted links,
and secrets others can read."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.matrix.state import MatrixState
from bot.runtime import open_runtime
from tests.conftest import (
    ROOT,
    FakeClock,
    jsonl,
    make_config,
    run_cli,
    with_bot_settings,
    write_config,
)


def vertrouwd(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The command as an admin starts it from a shell with the usual umask 022."""
    return run_cli(args, stdin=stdin, umask=0o022)


def modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_under_umask_022_everything_the_bot_creates_is_owner_only(tmp_path: Path):
    config = write_config(tmp_path)
    said = vertrouwd(["chat", "--jsonl", "--config", str(config)], jsonl({"text": "hi"}))
    assert said.returncode == 0, said.stderr
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert modes(data) and set(modes(data).values()) == {0o600}, modes(data)


def test_a_data_folder_others_can_read_is_refused_in_one_line(tmp_path: Path):
    config = write_config(tmp_path)
    (tmp_path / "data").mkdir(mode=0o755)
    os.chmod(tmp_path / "data", 0o755)
    said = vertrouwd(["chat", "--jsonl", "--config", str(config)], jsonl({"text": "hi"}))
    assert said.returncode == 2
    assert said.stderr.strip().splitlines() == [
        f"vertrouwd: data folder {tmp_path / 'data'} can be read or written by other users;"
        f" run: chmod 700 {tmp_path / 'data'}"
    ]
    assert list((tmp_path / "data").iterdir()) == []  # nothing written there


def test_a_token_file_others_can_read_is_refused(tmp_path: Path):
    secret = tmp_path / "telegram.token"
    secret.write_text("123:abc")
    secret.chmod(0o644)
    config = load_config(
        write_config(tmp_path, '[telegram]\nenabled = true\ntoken_file = "telegram.token"\n'),
        environ={},
    )
    assert config.telegram is not None
    with pytest.raises(ConfigError, match="can be read by other users; run: chmod 600"):
        config.telegram.token(environ={})
    secret.chmod(0o600)
    assert config.telegram.token(environ={}) == "123:abc"


def test_a_planted_link_at_the_state_temp_file_is_not_followed(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / ".matrix-state.sealed.tmp").symlink_to(victim)
    cipher = FieldCipher(load_or_create_keys(data / "vertrouwd.key"))
    MatrixState(device_id="DEVICE").save(data, cipher)
    assert victim.read_text() == "keep me"
    assert MatrixState.load(data, cipher).device_id == "DEVICE"


async def test_a_planted_link_at_a_locale_temp_file_is_not_followed(tmp_path: Path, locales: Path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (locales / ".en.toml.tmp").symlink_to(victim)
    config = with_bot_settings(make_config(tmp_path), locales_dir=locales)
    async with open_runtime(config, FakeClock()) as runtime:
        assert runtime.editor is not None
        await runtime.editor.set("@admin:localhost", "menu.prompt", "en", "How can I help?")
    assert victim.read_text() == "keep me"
    assert 'prompt = "How can I help?"' in (locales / "en.toml").read_text()


def test_the_adviser_s_text_never_shows_in_the_process_list(tmp_path: Path, nl):
    config = write_config(tmp_path)
    canary = "CallMeOn0612345678"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "write", "--config", str(config), "ZZZZ-ZZZZ"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    seen_by_others = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    out, err = process.communicate(f"{canary}\n", timeout=60)
    assert canary.encode() not in seen_by_others
    assert process.returncode == 1, err
    assert nl("desk.unknown_thread") in out + err  # it read the text, then looked
