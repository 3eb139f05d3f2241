"""`vertrouwd backup DIR` and `vertrouwd restore DIR`.

A backup is a consistent copy of the data folder's databases, taken with SQLite's
online backup while the bot runs and checked page by page; the sealed Matrix state;
matrix-nio's own store, sealed as a whole (it names the people on Matrix); and the
texts when they live in the data folder. Its manifest names the data key versions
inside and is authenticated with a key derived from the key file (backup_manifest.py).
The key file itself is never copied: a backup alone opens no sealed field.

A restore refuses a backup that was changed, made with another key file, or needs a
data key version the key file no longer holds (naming it); refuses while a bot runs;
and moves what it replaces aside instead of deleting it.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.commands import Subcommands
from bot.commands.backup_files import (
    DamagedFile,
    copy_database,
    move_aside,
    open_sealed_file,
    put_in_place,
    quick_check,
    recorded_fingerprint,
    seal_file,
    versions_sealed_in,
)
from bot.commands.backup_manifest import (
    BackupFile,
    ManifestError,
    file_sha256,
    trusted_manifest,
    write_manifest,
)
from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import KeyMaterial, key_fingerprint, read_key_file
from bot.keys.guard import STATE_FILE
from bot.keys.retired import copies_holding
from bot.ops import run_lock

MATRIX_STORE = "matrix-store"  # matrix-nio's own store (bot/matrix/session.py)


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy every database into a new folder, safely while the bot runs (no key)",
    )
    backup.add_argument("folder", type=Path, help="a new or empty folder for the backup")
    backup.set_defaults(entry=backup_command)
    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="put a backup back into the data folder (the bot must be stopped)",
    )
    restore.add_argument("folder", type=Path, help="a folder made by `vertrouwd backup`")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the data folder's databases without asking (they are moved aside)",
    )
    restore.set_defaults(entry=restore_command)


def backup_command(config: Config, args: argparse.Namespace) -> int:
    for line in backup(config, args.folder):
        print(line)
    return 0


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes", "j", "ja"}


def restore_command(config: Config, args: argparse.Namespace) -> int:
    for line in restore(config, args.folder, force=args.force, confirm=_ask):
        print(line)
    return 0


def _key_material(config: Config, doing: str) -> KeyMaterial:
    if not config.key_file.is_file():
        raise BackupError(
            f"key file {config.key_file} is missing; {doing} needs the key file the data"
            " folder was sealed with (storage.key_file, or VERTROUWD_KEY_FILE)"
        )
    return read_key_file(config.key_file)


def _texts_folder(config: Config) -> Path | None:
    """The data folder's texts (where the README's server layout keeps them, so that
    edits from the admin room are kept), or None when they live elsewhere."""
    texts = config.bot.data_dir / "locales"
    return texts if config.locales_dir.resolve() == texts.resolve() else None


def _copy_all(config: Config, target: Path, material: KeyMaterial) -> tuple[list[str], set[int]]:
    """Every file into ``target``; returns their names and the data key versions used."""
    from bot.sinks.local_inbox import INBOX_FILE, INBOX_SEALED_COLUMNS
    from bot.store.organisation_links import LINK_SEALED_COLUMNS, LINKS_FILE
    from bot.store.sealed_fields import SEALED_COLUMNS

    data_dir, names, versions = config.bot.data_dir, [], set()
    ours = key_fingerprint(material)
    databases = (
        (STORE_FILE, SEALED_COLUMNS),
        (INBOX_FILE, INBOX_SEALED_COLUMNS),
        (LINKS_FILE, LINK_SEALED_COLUMNS),  # a bureau's: who reached which organisation
    )
    for name, columns in databases:
        if (data_dir / name).is_file():
            if copy_database(data_dir / name, target / name) not in (ours, None):
                raise BackupError(
                    f"{data_dir / name} was sealed with another key file than"
                    f" {config.key_file}; run the backup with the key file it belongs to"
                    " (storage.key_file, or VERTROUWD_KEY_FILE); the backup was not made"
                )
            versions |= versions_sealed_in(target / name, columns)
            names.append(name)
    if (data_dir / STATE_FILE).is_file():
        put_in_place(data_dir / STATE_FILE, target / STATE_FILE)
        versions.add(int.from_bytes((target / STATE_FILE).read_bytes()[:2], "big"))
        names.append(STATE_FILE)
    for path in sorted((data_dir / MATRIX_STORE).glob("*.db")):
        name = f"{MATRIX_STORE}/{path.name}"
        # The clear copy (employees' Matrix ids, room ids) is made beside the store, in
        # the data folder, never on the backup's disk, and is gone whatever happens.
        (target / MATRIX_STORE).mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=data_dir) as private:
            plain = Path(private) / path.name
            copy_database(path, plain)
            seal_file(plain, target / (name + ".sealed"), name, material)
        versions.add(material.current)
        names.append(name)
    texts = _texts_folder(config)
    for path in sorted(texts.glob("*.toml")) if texts is not None else []:
        put_in_place(path, target / "locales" / path.name)
        names.append(f"locales/{path.name}")
    return names, versions


def _entries(target: Path, names: list[str], material: KeyMaterial) -> list[BackupFile]:
    entries = []
    for name in names:
        sealed = name.startswith(f"{MATRIX_STORE}/")
        stored = target / (name + (".sealed" if sealed else ""))
        entries.append(BackupFile(name, file_sha256(stored), material.current if sealed else None))
    return entries


def backup(config: Config, target: Path) -> list[str]:
    """Copy the data folder into ``target``; returns what to tell the admin."""
    data_dir = config.bot.data_dir
    if not _holds_data(data_dir):
        raise BackupError(f"nothing to back up: no database in {data_dir} (bot.data_dir)")
    material = _key_material(config, "a backup")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"backup folder {target} exists and is not empty; name a new folder")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.chmod(0o700)
    try:
        names, versions = _copy_all(config, target, material)
    except (sqlite3.Error, DamagedFile) as exc:
        raise BackupError(
            f"backup failed: {exc}; nothing in {target} is usable. Run `vertrouwd doctor`,"
            " and restore the data folder from a backup if it names a damaged file"
        ) from exc
    lacking = sorted(versions - set(material.data_keys))
    if lacking:
        raise BackupError(
            f"the data folder holds fields sealed with data key version(s)"
            f" {', '.join(map(str, lacking))}, which {config.key_file} does not hold;"
            " put the right key file in place (the backup was not made)"
        )
    write_manifest(target, material, _entries(target, names, material), versions)
    return _told_after_backup(config, target, names, versions)


def _told_after_backup(
    config: Config, target: Path, names: list[str], versions: set[int]
) -> list[str]:
    texts = sum(name.startswith("locales/") for name in names)
    nio = sum(name.startswith(f"{MATRIX_STORE}/") for name in names)
    sealed = (
        f"sealed with data key version(s) {', '.join(map(str, sorted(versions)))}"
        if versions
        else "nothing sealed in it yet"
    )
    told = [
        f"backed up {len(names)} file(s) from {config.bot.data_dir} to {target}, {sealed}.",
        "Inside: the databases, where what people wrote, their names and contact details"
        " are sealed, while the case details (adviser, channel, dates, counts) are not;",
    ]
    if nio:
        told.append("the Matrix store (who the bot talks to on Matrix), sealed as a whole;")
    if texts:
        told.append(f"the {texts} text file(s) of the data folder, not sealed.")
    elif _texts_folder(config) is None:
        told.append(f"not the texts: they live outside the data folder ({config.locales_dir}).")
    told.append(
        f"The key file is NOT in the backup: the key file that opens it is {config.key_file}."
        " Keep a copy of it somewhere else (not beside the backup): without it nothing"
        " sealed in the backup can be read, and with both together everything can."
    )
    return told


def _missing_keys(config: Config, missing: dict[int, str]) -> BackupError:
    versions = ", ".join(str(v) for v in sorted(missing))
    copies = copies_holding(config.key_file, missing)
    where = (
        f" The key file kept at that rotation holds it: {copies[0]}. Put that file in place"
        f" of {config.key_file} (keep the current one too), restore, then run"
        " `vertrouwd keys rotate` again."
        if copies
        else " Put the key file from before that rotation in place (keep the current one"
        " too) and restore again."
    )
    return BackupError(
        f"this backup needs data key version(s) {versions}, which {config.key_file} does not"
        f" hold (the backup was made before a `vertrouwd keys rotate`); nothing was"
        f" changed.{where}"
    )


@contextlib.contextmanager
def _no_bot_running(config: Config) -> Iterator[None]:
    """Hold the data folder's run lock (bot/ops/run_lock.py), as `vertrouwd run` does, for
    the whole restore; a bot holding it now means the restore is refused."""
    data_dir = config.bot.data_dir
    try:
        lock = run_lock.acquire(data_dir)
    except run_lock.DataDirLocked as exc:
        # A bureau's bot serves the others too: it lets go of a suspended organisation.
        organisation = getattr(config, "organisation_id", None)
        stop = (
            f"`vertrouwd org suspend {organisation}` first, and `org resume {organisation}` after"
            if organisation
            else "stop it first"
        )
        raise BackupError(
            f"a bot is running on {data_dir} ({exc.pid or 'another process'}); {stop}"
            " (nothing was changed)"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _database_fits(path: Path, fingerprint: str) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            problem = quick_check(db)
            recorded = recorded_fingerprint(db)
    except sqlite3.Error as exc:
        raise BackupError(f"backup file {path} is damaged ({exc}); nothing was changed") from exc
    if problem is not None:
        raise BackupError(f"backup file {path} is damaged ({problem}); nothing was changed")
    if recorded not in (fingerprint, None):
        raise BackupError(f"backup file {path} belongs to another key file; nothing was changed")


def _contents(
    source: Path, files: list[BackupFile], material: KeyMaterial
) -> dict[str, bytes | Path]:
    """What goes back, by name: a path to copy, or the opened bytes of a sealed file."""
    fingerprint = key_fingerprint(material)
    contents: dict[str, bytes | Path] = {}
    for entry in files:
        if entry.sealed_with is not None:
            try:
                contents[entry.name] = open_sealed_file(
                    source / (entry.name + ".sealed"), entry.name, entry.sealed_with, material
                )
            except DamagedFile as exc:
                raise BackupError(f"{exc}; nothing was changed") from exc
            continue
        if entry.name.endswith(".sqlite3"):
            _database_fits(source / entry.name, fingerprint)
        contents[entry.name] = source / entry.name
    return contents


def _holds_data(data_dir: Path) -> list[str]:
    from bot.sinks.local_inbox import INBOX_FILE
    from bot.store.organisation_links import LINKS_FILE

    names = [STORE_FILE, INBOX_FILE, LINKS_FILE, STATE_FILE]
    names += [f"{MATRIX_STORE}/{p.name}" for p in sorted((data_dir / MATRIX_STORE).glob("*.db"))]
    return [name for name in names if (data_dir / name).is_file()]


def restore(
    config: Config,
    source: Path,
    *,
    force: bool = False,
    confirm: Callable[[str], bool] | None = None,
) -> list[str]:
    """Put a backup back into the data folder; returns what to tell the admin."""
    material = _key_material(config, "a restore")
    try:
        files, missing = trusted_manifest(source, material)
    except ManifestError as exc:
        raise BackupError(str(exc)) from exc
    if missing:
        raise _missing_keys(config, missing)
    contents = _contents(source, files, material)
    data_dir = config.bot.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _no_bot_running(config):
        present = _holds_data(data_dir)
        question = (
            f"{data_dir} holds data ({', '.join(present)}). Replace it with the backup?"
            " What is there now is moved aside, not deleted."
        )
        if present and not force and not (confirm is not None and confirm(question)):
            raise BackupError(
                f"{data_dir} already holds data ({', '.join(present)}); nothing was changed."
                " To replace it with the backup, run the restore again with --force: what"
                " is there now is then moved into a replaced-<time> folder, not deleted"
            )
        aside = move_aside(data_dir, [*present, *(n for n in contents if n not in present)])
        for name, content in contents.items():
            put_in_place(content, data_dir / name)
    told = [f"restored {len(contents)} file(s) from {source} into {data_dir}."]
    if aside is not None:
        told.append(f"What was there before is kept in {aside}; delete it once all is well.")
    return told
