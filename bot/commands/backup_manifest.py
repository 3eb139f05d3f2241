"""A backup's manifest: what it holds, and proof that it was made with this key file.

The manifest lists every file with its SHA-256 and the fingerprint of every data key
version sealed inside. An HMAC under a key derived from the key file's lookup key
(which never rotates) covers all of it: a manifest edited by hand, a file swapped
for another, or a backup made with a foreign key file is refused before anything is
put back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.keys.crypto import KeyMaterial, data_key_fingerprints, derived_key, key_fingerprint

MANIFEST = "vertrouwd-backup.json"
BACKUP_FORMAT = 2
_MAC_PURPOSE = b"vertrouwd backup manifest 1"

# Every name a backup may hold, relative to the data folder: nothing else is ever
# put back (not the key file, not a file outside the data folder).
_KNOWN = re.compile(
    r"(vertrouwd\.sqlite3|adviser-inbox\.sqlite3|organisation_links\.sqlite3|matrix-state\.sealed"
    r"|matrix-store/[^/]+\.db|locales/[A-Za-z_-]+\.toml)"
)


class ManifestError(Exception):
    """The manifest cannot be trusted or does not fit the key file; says what to do."""


@dataclass(frozen=True)
class BackupFile:
    name: str  # relative to the data folder, as restored
    sha256: str  # of the file as it lies in the backup
    sealed_with: int | None = None  # data key version it is sealed with as a whole


def is_known_name(name: str) -> bool:
    return _KNOWN.fullmatch(name) is not None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mac(material: KeyMaterial, body: dict[str, object]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    key = derived_key(material.lookup_key, _MAC_PURPOSE)
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def write_manifest(
    target: Path, material: KeyMaterial, files: list[BackupFile], versions: set[int]
) -> None:
    fingerprints = data_key_fingerprints(material)
    body: dict[str, object] = {
        "format": BACKUP_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "key_fingerprint": key_fingerprint(material),
        "data_keys": {str(v): fingerprints[v] for v in sorted(versions)},
        "files": [
            {"name": f.name, "sha256": f.sha256, "sealed_with": f.sealed_with} for f in files
        ],
    }
    document = {**body, "mac": _mac(material, body)}
    (target / MANIFEST).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (target / MANIFEST).chmod(0o600)


def _read(source: Path) -> dict[str, object]:
    try:
        document = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"{source} is not a vertrouwd backup (no {MANIFEST})") from exc
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{source / MANIFEST} cannot be read; the backup is damaged") from exc
    if not isinstance(document, dict):
        raise ManifestError(f"{source / MANIFEST} is damaged; nothing was changed")
    if document.get("format") == 1:
        raise ManifestError(
            f"{source} was made by an older vertrouwd whose backups cannot be checked;"
            " restore it with that version, or make a new backup (nothing was changed)"
        )
    if document.get("format") != BACKUP_FORMAT:
        raise ManifestError(f"{source / MANIFEST}: not a backup this vertrouwd can restore")
    return document


def _files(source: Path, document: dict[str, object]) -> list[BackupFile]:
    try:
        files = [
            BackupFile(str(f["name"]), str(f["sha256"]), f["sealed_with"])
            for f in document["files"]  # type: ignore[attr-defined]
        ]
    except (KeyError, TypeError) as exc:
        raise ManifestError(f"{source / MANIFEST}: the list of files is damaged") from exc
    for entry in files:
        if not is_known_name(entry.name):
            raise ManifestError(
                f"{source / MANIFEST} names {entry.name!r}, which no vertrouwd backup holds;"
                " nothing was changed"
            )
    return files


def missing_versions(document: dict[str, object], material: KeyMaterial) -> dict[int, str]:
    """The data key versions the backup needs that the key file lacks (or holds another
    key under the same number), with the fingerprint each should have."""
    have = data_key_fingerprints(material)
    needed = document.get("data_keys")
    if not isinstance(needed, dict):
        return {}
    return {int(v): str(fp) for v, fp in needed.items() if have.get(int(v)) != fp}


def trusted_manifest(
    source: Path, material: KeyMaterial
) -> tuple[list[BackupFile], dict[int, str]]:
    """The files of an authentic backup made with this key file's lookup key, and the
    data key versions it needs that the key file lacks; refuses anything else."""
    document = _read(source)
    body = {k: v for k, v in document.items() if k != "mac"}
    mac = document.get("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(material, body)):
        raise ManifestError(
            f"the backup in {source} was not made with the key file in use, or was changed"
            " after it was made; put the backup's own key file in place, or use another"
            " backup (nothing was changed)"
        )
    files = _files(source, document)
    for entry in files:
        stored = source / (entry.name + (".sealed" if entry.sealed_with is not None else ""))
        if not stored.is_file():
            raise ManifestError(f"backup file {stored} is missing; nothing was changed")
        if file_sha256(stored) != entry.sha256:
            raise ManifestError(
                f"backup file {stored} is not the file the backup was made with (changed or"
                " damaged); nothing was changed"
            )
    return files, missing_versions(document, material)
