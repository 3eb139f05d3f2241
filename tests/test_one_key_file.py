"""One key file on the README's server path: the key made in step 3 (`vertrouwd keys
new` beside the other credentials) is the one `init`, the commands and the backup use;
no second key appears in the data folder."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tests.faults import INTAKE, chat
from tests.test_init import ANNA, clean_env, init


def _web(port: int) -> tuple[str, ...]:
    """A channel for `run` to serve (init says "Ready" only with one): the web chat."""
    return ("--web", "--web-port", str(port))


async def test_init_keeps_the_credential_key_and_makes_no_second_one(
    tmp_path: Path, unused_tcp_port: int
):
    credential = tmp_path / "credentials" / "secret.key"
    made = run_cli(["keys", "new", str(credential)])
    assert made.returncode == 0, made.stderr
    key = credential.read_bytes()
    # Step 4: the config names the credential's file (the running service gets a copy
    # of it from systemd, which takes precedence; everything else reads this one).
    (tmp_path / "config.toml").write_text(
        f'[bot]\ndata_dir = "data"\n\n[storage]\nkey_file = "{credential}"\n'
    )
    code, out, err = await init(
        tmp_path, "--adviser", ANNA, *_web(unused_tcp_port), env=clean_env()
    )
    assert code == 0, out + err
    assert f"key file: {credential} exists, kept as it is" in out
    assert not (tmp_path / "data" / "secret.key").exists()
    assert credential.read_bytes() == key

    config = tmp_path / "config.toml"
    chat(config, "robin", *INTAKE)
    assert not (tmp_path / "data" / "secret.key").exists()
    backup = run_cli(["backup", str(tmp_path / "backup"), "--config", str(config)])
    assert backup.returncode == 0, backup.stderr
    assert f"the key file that opens it is {credential}" in backup.stdout


async def test_init_makes_no_new_key_beside_data_sealed_with_another(
    tmp_path: Path, unused_tcp_port: int
):
    code, out, err = await init(
        tmp_path, "--adviser", ANNA, *_web(unused_tcp_port), env=clean_env()
    )
    assert code == 0, out + err
    chat(tmp_path / "config.toml", "robin", *INTAKE)
    (tmp_path / "data" / "secret.key").unlink()  # lost, or kept elsewhere
    code, out, err = await init(
        tmp_path, "--adviser", ANNA, *_web(unused_tcp_port), env=clean_env()
    )
    assert code != 0
    assert "holds data sealed with it" in out + err
    assert not (tmp_path / "data" / "secret.key").exists()
