"""A year in one organisation, from the terminal: set up, requests, a backup, a key
rotation, a restore of the old backup (refused, naming the key version and where it
is kept; then readable with it), damage named, and the annual report."""

from __future__ import annotations

import json
import random
import shutil
from datetime import datetime
from pathlib import Path

from tests.conftest import run_cli
from tests.faults import INTAKE, chat
from tests.test_init import ANNA, clean_env, init


def listed(config: Path) -> tuple[int, list[str], str]:
    done = run_cli(["inbox", "--jsonl", "--config", str(config)])
    return (
        done.returncode,
        [json.loads(line)["case_ref"] for line in done.stdout.splitlines()],
        done.stderr,
    )


def _web(port: int) -> tuple[str, ...]:
    """A channel for `run` to serve (init says "Ready" only with one): the web chat."""
    return ("--web", "--web-port", str(port))


async def test_a_year_set_up_backed_up_rotated_restored_damaged_and_reported(
    tmp_path: Path, unused_tcp_port: int
):
    code, out, err = await init(
        tmp_path, "--adviser", ANNA, *_web(unused_tcp_port), env=clean_env()
    )
    assert code == 0, out + err
    config = tmp_path / "config.toml"
    data, key_file = tmp_path / "data", tmp_path / "data" / "secret.key"
    for person in ("robin", "kim", "sam"):
        chat(config, person, *INTAKE)
    code, spring, err = listed(config)
    assert code == 0 and len(spring) == 3, err

    backup = run_cli(["backup", str(tmp_path / "spring"), "--config", str(config)])
    assert backup.returncode == 0, backup.stderr
    assert f"the key file that opens it is {key_file}" in backup.stdout

    rotated = run_cli(["keys", "rotate", "--config", str(config), "--settle", "0"])
    assert rotated.returncode == 0, rotated.stderr
    [kept] = data.glob("secret.key.retired-*")
    chat(config, "lou", *INTAKE)  # autumn: one more request, under the new key

    refused = run_cli(["restore", str(tmp_path / "spring"), "--config", str(config), "--force"])
    assert refused.returncode == 2
    assert "needs data key version(s) 1" in refused.stderr and str(kept) in refused.stderr
    assert len(listed(config)[1]) == 4  # nothing was changed

    # The server is lost at year end; the spring backup and the kept key remain.
    shutil.copyfile(kept, tmp_path / "kept.key")
    shutil.rmtree(data)
    data.mkdir(mode=0o700)
    shutil.copyfile(tmp_path / "kept.key", key_file)
    key_file.chmod(0o600)
    restored = run_cli(["restore", str(tmp_path / "spring"), "--config", str(config)])
    assert restored.returncode == 0, restored.stderr
    code, back, err = listed(config)
    assert code == 0 and sorted(back) == sorted(spring), err

    # A bad disk flips bits in the inbox: each is harmless or named, never fewer in silence.
    inbox_file = data / "adviser-inbox.sqlite3"
    original = inbox_file.read_bytes()
    chance = random.Random(2026)
    for _ in range(8):
        flipped = bytearray(original)
        flipped[chance.randrange(len(flipped))] ^= 0x10
        inbox_file.write_bytes(bytes(flipped))
        code, shown, err = listed(config)
        assert "Traceback" not in err
        assert (code == 0 and sorted(shown) == sorted(spring)) or (code != 0 and err.strip())
    inbox_file.write_bytes(original)

    year = str(datetime.now().year)
    report = run_cli(["report", "--config", str(config), "--year", year, "--format", "md"])
    assert report.returncode == 0, report.stderr
    assert year in report.stdout
