"""Adding, suspending, resuming and removing a bureau's organisations: each is one step
that is whole or not at all, and each leaves a line in the bureau's audit log.

An organisation is added in a hidden folder that becomes visible by one rename; it is
removed by one rename out of sight, its key file first (without it nothing sealed there
can be read again), then the rest."""

from __future__ import annotations

import contextlib
import datetime
import getpass
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from bot.config import Config, ConfigError
from bot.config.bureau import OrganisationEntry
from bot.keys.crypto import new_key_material, write_key_file
from bot.ops import run_lock
from bot.organisations.folders import OrganisationFolder, folder_of
from bot.organisations.registry import organisations, read_organisation
from bot.store.connection import make_data_dir

AUDIT_FILE = "audit.jsonl"
# Capitals and digits that cannot be mistaken for each other (no I, O, 0 or 1).
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 6


class OrganisationBusy(ConfigError):
    """A running bot still serves the organisation."""


@dataclass(frozen=True)
class Added:
    folder: OrganisationFolder
    entry: OrganisationEntry


def _audit(config: Config, action: str, organisation_id: str, clock: Callable[[], float]) -> None:
    """One line per action: when, who (the system account), what, which organisation.
    Names of organisations are the bureau's own business data, never an employee's."""
    line = {
        "at": datetime.datetime.fromtimestamp(clock(), datetime.UTC).isoformat(timespec="seconds"),
        "by": getpass.getuser(),
        "action": action,
        "organisation": organisation_id,
    }
    path = config.organisations_dir / AUDIT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
        out.flush()
        os.fsync(out.fileno())


def audit_lines(config: Config, organisation_id: str | None = None) -> list[dict[str, str]]:
    path = config.organisations_dir / AUDIT_FILE
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [line for line in lines if organisation_id in (None, line.get("organisation"))]


def new_code(taken: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
        if code not in taken:
            return code


_HEADER = (
    "This organisation's settings; the bureau's config holds the rest.",
    "[org] is kept by `vertrouwd org`; the other tables are yours to edit:",
    "organisation, advisers, emergency_routes, referral_resources, intake,",
    "aftercare, retention, report, limits, telegram, admin, web.",
    "Paths (telegram.token_file, web.logo_file) are relative to this folder.",
)


def _document(entry: OrganisationEntry, name: str) -> str:
    doc = tomlkit.document()
    for line in _HEADER:
        doc.add(tomlkit.comment(line))
    org = tomlkit.table()
    org["code"] = entry.code
    org["status"] = entry.status
    org["web_host"] = entry.web_host
    org["web_path"] = entry.web_path
    org["added"] = entry.added
    doc["org"] = org
    organisation = tomlkit.table()
    organisation["name"] = name
    doc["organisation"] = organisation
    return tomlkit.dumps(doc)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def add_organisation(
    config: Config,
    organisation_id: str,
    name: str,
    web_host: str = "",
    clock: Callable[[], float] = time.time,
) -> Added:
    """Make the organisation's folder, file, key and texts folder, all or nothing."""
    if not name.strip():
        raise ConfigError("org add: --name must not be empty")
    root = config.organisations_dir
    known = organisations(config)  # refuses an organisations_dir that is a file
    make_data_dir(root)
    target = folder_of(root, organisation_id)
    if target.root.exists():
        raise ConfigError(f"org add: organisation {organisation_id!r} exists already")
    if web_host and any(o.entry.web_host == web_host for o in known):
        raise ConfigError(f"org add: another organisation is served at {web_host} already")
    entry = OrganisationEntry(
        code=new_code({o.entry.code for o in known}),
        web_host=web_host,
        web_path=secrets.token_urlsafe(24),
        added=datetime.datetime.fromtimestamp(clock(), datetime.UTC).date().isoformat(),
    )
    building = OrganisationFolder(root / f".adding-{organisation_id}-{secrets.token_hex(4)}")
    make_data_dir(building.root)
    try:
        _write_private(building.file, _document(entry, name.strip()))
        write_key_file(building.key_file, new_key_material())
        make_data_dir(building.data_dir)
        make_data_dir(building.texts_dir)
        read_organisation(building)  # what was written reads back
        building.root.rename(target.root)
    except BaseException:
        shutil.rmtree(building.root, ignore_errors=True)
        raise
    _audit(config, "added", organisation_id, clock)
    return Added(target, entry)


def _set_status(config: Config, organisation_id: str, status: str) -> None:
    folder = folder_of(config.organisations_dir, organisation_id)
    doc = tomlkit.parse(folder.file.read_text(encoding="utf-8"))
    doc["org"]["status"] = status
    temporary = folder.file.with_suffix(f".{secrets.token_hex(4)}.tmp")
    _write_private(temporary, tomlkit.dumps(doc))
    os.replace(temporary, folder.file)
    read_organisation(folder)


def suspend_organisation(
    config: Config, organisation_id: str, clock: Callable[[], float] = time.time
) -> None:
    """Stop serving it: its pages, bot and rooms answer as for an organisation that
    does not exist; its data stays, sealed."""
    _set_status(config, organisation_id, "suspended")
    _audit(config, "suspended", organisation_id, clock)


def resume_organisation(
    config: Config, organisation_id: str, clock: Callable[[], float] = time.time
) -> None:
    _set_status(config, organisation_id, "active")
    _audit(config, "resumed", organisation_id, clock)


def remove_organisation(
    config: Config, organisation_id: str, clock: Callable[[], float] = time.time
) -> None:
    """Erase the organisation: refused while a running bot still serves it."""
    folder = folder_of(config.organisations_dir, organisation_id)
    if run_lock.holder(folder.data_dir) is not None:
        raise OrganisationBusy(
            f"org remove: the running bot still serves {organisation_id};"
            f" `vertrouwd org suspend {organisation_id}` first, and it lets go within seconds"
        )
    going = folder.root.with_name(f".removing-{organisation_id}-{secrets.token_hex(4)}")
    folder.root.rename(going)
    # The key first: whatever a crash leaves behind is sealed with a key that is gone.
    with contextlib.suppress(FileNotFoundError):
        (going / folder.key_file.name).unlink()
    shutil.rmtree(going)
    _audit(config, "removed", organisation_id, clock)


def leftovers(config: Config) -> list[Path]:
    """Folders of adds or removals that a crash cut short."""
    root = config.organisations_dir
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith((".adding-", ".removing-")))
