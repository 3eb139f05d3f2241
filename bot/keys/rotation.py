"""`vertrouwd keys rotate`: a new data key, every field sealed again, the old key gone.

1. The key file gets a new data key version, current from now on; the versions it
   replaces are listed as "retiring" (so an interrupted rotation resumes, and never
   adds a second new key).
2. Running bots see the changed key file within ``bot.texts_reload_seconds`` and seal
   with the new key; this command waits that long twice over, then re-seals every
   field in batches: the database, the local inbox, the Matrix state.
3. When no field uses a retiring version any more, the key file drops them. The key
   file as it was is kept beside it first (bot/keys/retired.py): backups made before
   the rotation need the versions it retires.

The lookup key (for the keyed hashes of platform ids) never rotates: every stored
lookup depends on it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import (
    FieldCipher,
    KeyFileError,
    KeyMaterial,
    read_key_file,
    replace_key_file,
    retiring_versions,
    version_prefix,
)
from bot.keys.retired import keep_retired_copy
from bot.matrix.state import STATE_FILE, MatrixState
from bot.runtime import prepare_data_dir
from bot.sinks.local_inbox import INBOX_FILE, LocalInbox
from bot.store import SqliteStore
from bot.store.organisation_links import LINKS_FILE, OrganisationLinks

log = logging.getLogger(__name__)


def _rewrite(path: Path, material: KeyMaterial, retiring: tuple[int, ...]) -> None:
    try:
        replace_key_file(path, material, retiring)
    except OSError as exc:  # a read-only key file: a systemd credential, say
        raise KeyFileError(
            f"cannot rewrite the key file {path} ({exc.strerror}); run this where the key"
            " file itself is writable (VERTROUWD_KEY_FILE names it)"
        ) from exc


def start_rotation(path: Path) -> tuple[KeyMaterial, tuple[int, ...], bool]:
    """The key material to rotate to; True when this run added the new version."""
    material = read_key_file(path)
    retiring = retiring_versions(path)
    if retiring:
        return material, retiring, False  # an earlier run was interrupted: go on
    version = max(material.data_keys) + 1
    rotated = KeyMaterial(
        material.lookup_key, {**material.data_keys, version: secrets.token_bytes(32)}, version
    )
    retiring = tuple(sorted(material.data_keys))
    _rewrite(path, rotated, retiring)
    return rotated, retiring, True


async def _reseal_everything(
    config: Config, cipher: FieldCipher, batch: int, retiring: tuple[int, ...]
) -> tuple[int, int, list[str]]:
    """Re-seal all there is; returns how many were re-sealed and still use a retiring
    key over every place, and the columns of records this rotation does not know."""
    prepare_data_dir(config.bot.data_dir)
    store = await SqliteStore.open(
        config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
    )
    try:
        inbox = await LocalInbox.open(config.bot.data_dir, cipher)
    except BaseException:
        await store.close()
        raise
    try:
        done = await store.reseal(batch)
        done += await inbox.reseal(batch)
        links_old = 0
        if (config.bot.data_dir / LINKS_FILE).exists():  # a bureau's own folder
            links = await OrganisationLinks.open(config.bot.data_dir, cipher)
            try:
                done += await links.reseal(batch)
                links_old = await links.sealed_with_old_keys()
            finally:
                await links.close()
        state_file = config.bot.data_dir / STATE_FILE
        if state_file.exists() and not state_file.read_bytes().startswith(cipher.prefix):
            # A running bot that took up the new key seals it anew at its next save.
            MatrixState.load(config.bot.data_dir, cipher).save(config.bot.data_dir, cipher)
            done.resealed += 1
        state_old = int(
            state_file.exists() and not state_file.read_bytes().startswith(cipher.prefix)
        )
        old = await store.sealed_with_old_keys() + await inbox.sealed_with_old_keys()
        old += state_old + links_old
        prefixes = [version_prefix(v) for v in retiring]
        unknown = [
            *await store.unknown_sealed_fields(prefixes),
            *[f"{INBOX_FILE}: {c}" for c in await inbox.unknown_sealed_fields(prefixes)],
        ]
        return done.resealed, old, unknown
    finally:
        await inbox.close()
        await store.close()


async def rotate(
    config: Config, batch: int, say: Callable[[str], None], settle_seconds: float | None = None
) -> int:
    path = config.key_file
    material, retiring, added = start_rotation(path)
    versions = ", ".join(str(v) for v in retiring)
    if added:
        say(f"key file: added data key version {material.current}; replacing version(s) {versions}")
    else:
        say(f"key file: going on with the rotation to version {material.current} ({versions})")
    # Give running bots the time to take up the new key: afterwards nothing new is
    # sealed with a retiring one.
    settle = 2 * config.bot.texts_reload_seconds + 1 if settle_seconds is None else settle_seconds
    waited = time.time() - path.stat().st_mtime
    if waited < settle:
        say(f"waiting {settle - waited:.0f} s for running bots to take up the new key ...")
        await asyncio.sleep(settle - waited)
    cipher = FieldCipher(material)
    resealed, old, unknown = await _reseal_everything(config, cipher, batch, retiring)
    say(f"re-sealed {resealed} field(s) with version {material.current}")
    if unknown:
        say(
            f"{', '.join(unknown)}: holds values sealed with a retiring key that this"
            " version cannot re-seal; the old key stays (a newer vertrouwd can finish)"
        )
        return 1
    if old:
        say(
            f"{old} field(s) still use a retiring key (a bot that has not taken up the new"
            " key, or a field no key opens); run `vertrouwd keys rotate` again to go on"
        )
        return 1
    copy = keep_retired_copy(path, material)
    kept = {v: k for v, k in material.data_keys.items() if v not in retiring}
    _rewrite(path, KeyMaterial(material.lookup_key, kept, material.current), ())
    say(f"key file: retired version(s) {versions}; only version {material.current} is left")
    say(
        f"Backups made before now need the retired version(s) {versions}: the key file as it"
        f" was is kept in {copy} (readable only by you), and `vertrouwd restore` names it"
        " when a backup needs it. Make a new backup now and replace your off-site copy of"
        f" the key file with {path}; once no backup from before today is kept, delete {copy}."
    )
    return 0


def rotate_command(config: Config, batch: int, settle: float | None) -> int:
    return asyncio.run(rotate(config, batch, print, settle))
