"""What a restore trusts: a backup made with this key file and left as it was, whose
data key versions the key file still holds. And what a backup holds, truthfully."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path

from bot.keys.crypto import read_key_file
from tests.conftest import LOCALES, run_cli, write_config
from tests.faults import INTAKE, chat, snapshot
from tests.test_init import Terminal, clean_env

MATRIX_ID = "@jan.jansen:example.org"
ROOM_ID = "!dmroom:example.org"


def installation(tmp_path: Path, name: str = "ours", extra: str = "") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    config = write_config(folder, extra)
    chat(config, "robin", *INTAKE)
    return config


def inbox_refs(config: Path) -> list[str]:
    done = run_cli(["inbox", "--jsonl", "--config", str(config)])
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["case_ref"] for line in done.stdout.splitlines()]


def back_up(config: Path, target: Path) -> str:
    done = run_cli(["backup", str(target), "--config", str(config)])
    assert done.returncode == 0, done.stderr
    return done.stdout


def restore(config: Path, source: Path, *more: str) -> tuple[int, str, str]:
    done = run_cli(["restore", str(source), "--config", str(config), *more])
    return done.returncode, done.stdout, done.stderr


def test_a_backup_from_before_a_rotation_is_refused_naming_the_key_version_and_its_copy(
    tmp_path: Path,
):
    config = installation(tmp_path)
    data, key_file = config.parent / "data", config.parent / "data" / "secret.key"
    [ref] = inbox_refs(config)
    back_up(config, tmp_path / "before-rotation")
    rotated = run_cli(["keys", "rotate", "--config", str(config), "--settle", "0"])
    assert rotated.returncode == 0, rotated.stderr
    assert "Backups made before now need the retired version(s) 1" in rotated.stdout
    [kept] = data.glob("secret.key.retired-*")
    assert str(kept) in rotated.stdout
    assert kept.stat().st_mode & 0o777 == 0o600
    assert sorted(read_key_file(kept).data_keys) == [1, 2]
    assert sorted(read_key_file(key_file).data_keys) == [2]

    before = snapshot(data)
    code, _out, err = restore(config, tmp_path / "before-rotation", "--force")
    assert code == 2
    line = one_error_line_of(err)
    assert "needs data key version(s) 1" in line and str(kept) in line
    assert snapshot(data) == before  # nothing was changed

    # As told: the kept copy in place, the old backup opens, every handoff reads.
    shutil.copyfile(kept, key_file)
    code, _out, err = restore(config, tmp_path / "before-rotation", "--force")
    assert code == 0, err
    assert inbox_refs(config) == [ref]


def one_error_line_of(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("vertrouwd: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_backup_with_a_foreign_key_file_and_database_put_in_is_refused(tmp_path: Path):
    """Security review #7: another installation's backup, its key file added to the
    files and the manifest's fingerprint set to ours."""
    ours, theirs = installation(tmp_path, "ours"), installation(tmp_path, "theirs")
    mine = tmp_path / "mine"
    back_up(ours, mine)
    forged = tmp_path / "forged"
    back_up(theirs, forged)
    shutil.copyfile(theirs.parent / "data" / "secret.key", forged / "secret.key")
    manifest = json.loads((forged / "vertrouwd-backup.json").read_text())
    genuine = json.loads((mine / "vertrouwd-backup.json").read_text())
    manifest["key_fingerprint"] = genuine["key_fingerprint"]
    manifest["files"].append({"name": "secret.key", "sha256": "0" * 64, "sealed_with": None})
    (forged / "vertrouwd-backup.json").write_text(json.dumps(manifest))
    data = ours.parent / "data"
    before = snapshot(data)
    code, _out, err = restore(ours, forged, "--force")
    assert code == 2
    assert "was not made with the key file in use, or was changed" in one_error_line_of(err)
    assert snapshot(data) == before

    # Our own backup, its manifest untouched, with their database put in its place.
    shutil.copyfile(forged / "vertrouwd.sqlite3", mine / "vertrouwd.sqlite3")
    code, _out, err = restore(ours, mine, "--force")
    assert code == 2
    assert "is not the file the backup was made with" in one_error_line_of(err)
    assert snapshot(data) == before


def test_restore_into_a_folder_with_data_asks_first_and_moves_it_aside(tmp_path: Path):
    config = installation(tmp_path)
    data = config.parent / "data"
    back_up(config, tmp_path / "backup")
    chat(config, "kim", *INTAKE)  # a second request since the backup
    assert len(inbox_refs(config)) == 2
    before = snapshot(data)

    code, _out, err = restore(config, tmp_path / "backup")  # no terminal to ask on
    assert code == 2
    assert "already holds data" in one_error_line_of(err) and "--force" in err
    assert snapshot(data) == before

    code, out, err = restore(config, tmp_path / "backup", "--force")
    assert code == 0, err
    assert len(inbox_refs(config)) == 1
    [aside] = data.glob("replaced-*")
    assert str(aside) in out
    for name in ("vertrouwd.sqlite3", "adviser-inbox.sqlite3"):
        assert (aside / name).read_bytes() == before[name]


def test_at_a_terminal_restore_asks_before_it_replaces_data(tmp_path: Path):
    config = installation(tmp_path)
    data = config.parent / "data"
    back_up(config, tmp_path / "backup")
    chat(config, "kim", *INTAKE)
    before = snapshot(data)
    question = "Replace it with the backup? What is there now is moved aside, not deleted. [y/N] "
    args = ["restore", str(tmp_path / "backup"), "--config", str(config)]

    declined = Terminal(args, clean_env())
    declined.answer(question, "n")
    code, screen = declined.finish()
    assert code == 2 and "nothing was changed" in screen
    assert snapshot(data) == before

    agreed = Terminal(args, clean_env())
    agreed.answer(question, "y")
    code, screen = agreed.finish()
    assert code == 0, screen
    assert "restored" in screen and len(inbox_refs(config)) == 1
    assert len(list(data.glob("replaced-*"))) == 1


def nio_store(data: Path) -> Path:
    """A stand-in for matrix-nio's store as the bot keeps it during a Matrix DM."""
    path = data / "matrix-store" / "@bot:example.org_BOTDEVICE.db"
    path.parent.mkdir(mode=0o700)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE devicekeys (user_id TEXT, display_name TEXT)")
        db.execute("CREATE TABLE encryptedrooms (room_id TEXT)")
        db.execute("INSERT INTO devicekeys VALUES (?, ?)", (MATRIX_ID, "Jan's iPhone"))
        db.execute("INSERT INTO encryptedrooms VALUES (?)", (ROOM_ID,))
        db.commit()
    return path


def test_a_backup_seals_the_matrix_store_keeps_edited_texts_and_says_what_is_inside(
    tmp_path: Path,
):
    folder = tmp_path / "server"
    folder.mkdir()
    shutil.copytree(LOCALES, folder / "data" / "locales")
    config = write_config(folder)
    text = config.read_text().replace("[bot]\n", '[bot]\nlocales_dir = "data/locales"\n', 1)
    config.write_text(text)
    chat(config, "robin", *INTAKE)
    data = folder / "data"
    edited = (data / "locales" / "en.toml").read_text() + "\n# edited in the admin room\n"
    (data / "locales" / "en.toml").write_text(edited)
    store = nio_store(data)

    told = back_up(config, tmp_path / "backup")
    assert "the Matrix store (who the bot talks to on Matrix), sealed as a whole" in told
    assert "case details (adviser, channel, dates, counts) are not" in told
    assert "text file(s) of the data folder" in told
    assert f"the key file that opens it is {data / 'secret.key'}" in told
    for content in snapshot(tmp_path / "backup").values():
        assert MATRIX_ID.encode() not in content and ROOM_ID.encode() not in content

    shutil.copyfile(LOCALES / "en.toml", data / "locales" / "en.toml")
    store.unlink()
    code, _out, err = restore(config, tmp_path / "backup", "--force")
    assert code == 0, err
    with contextlib.closing(sqlite3.connect(store)) as db:
        assert db.execute("SELECT user_id FROM devicekeys").fetchall() == [(MATRIX_ID,)]
        assert db.execute("SELECT room_id FROM encryptedrooms").fetchall() == [(ROOM_ID,)]
    assert (data / "locales" / "en.toml").read_text() == edited


def test_a_backup_made_before_backups_were_authenticated_is_refused_plainly(tmp_path: Path):
    config = installation(tmp_path)
    old = tmp_path / "old-backup"
    back_up(config, old)
    manifest = json.loads((old / "vertrouwd-backup.json").read_text())
    (old / "vertrouwd-backup.json").write_text(
        json.dumps({"format": 1, "key_fingerprint": manifest["key_fingerprint"], "files": []})
    )
    code, _out, err = restore(config, old, "--force")
    assert code == 2
    assert "made by an older vertrouwd whose backups cannot be checked" in one_error_line_of(err)
