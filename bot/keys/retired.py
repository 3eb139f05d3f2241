"""Copies of the key file kept at a rotation, so backups made before it still open.

`vertrouwd keys rotate` retires data key versions; a backup made before then needs
them. Before the key file drops them, the whole key file as it is then (old and new
versions) is kept beside it as ``<name>.retired-<UTC time>``, readable only by its
owner. A restore that lacks a version looks for the copy that holds it.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

from bot.keys.crypto import (
    KeyFileError,
    KeyMaterial,
    data_key_fingerprints,
    read_key_file,
    write_key_file,
)


def keep_retired_copy(key_file: Path, material: KeyMaterial) -> Path:
    """Write ``material`` (the key file before its old versions go) beside the key file."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    copy = key_file.with_name(f"{key_file.name}.retired-{stamp}")
    with contextlib.suppress(FileExistsError):  # a second rotation within the second
        write_key_file(copy, material)
    return copy


def copies_holding(key_file: Path, needed: dict[int, str]) -> list[Path]:
    """The kept copies beside ``key_file`` that hold every needed version (by its
    fingerprint), newest first."""
    found = []
    for copy in sorted(key_file.parent.glob(f"{key_file.name}.retired-*"), reverse=True):
        try:
            have = data_key_fingerprints(read_key_file(copy))
        except KeyFileError:
            continue
        if all(have.get(version) == fingerprint for version, fingerprint in needed.items()):
            found.append(copy)
    return found
