"""The key file and the data sealed with it: a new key is made only on a first start.

With data present and the key file gone, making a new key would turn everyone into
a new person and leave the old data unreadable; the start stops instead and says so.
"""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import KeyFileError, KeyMaterial, load_or_create_keys, read_key_file

STATE_FILE = "matrix-state.sealed"  # bot/matrix/state.py (not imported: it loads nio)


def sealed_files(data_dir: Path) -> list[Path]:
    """The files in ``data_dir`` that hold data sealed with the key, as found now."""
    from bot.sinks.local_inbox import INBOX_FILE

    candidates = (data_dir / STORE_FILE, data_dir / INBOX_FILE, data_dir / STATE_FILE)
    return [path for path in candidates if path.is_file() and path.stat().st_size > 0]


def _refuse_missing(config: Config) -> None:
    key_file = config.key_file
    if key_file.is_dir():
        raise KeyFileError(f"key file {key_file} is a folder, not a file; set storage.key_file")
    if key_file.exists():
        return
    present = sealed_files(config.bot.data_dir)
    if present:
        raise KeyFileError(
            f"key file {key_file} is missing, but {present[0]} holds data sealed with it;"
            " put the key file back from where you keep it (a new key would make that data"
            " unreadable, so none is made)"
        )


def keys_for_data(config: Config) -> KeyMaterial:
    """The key file's keys; created only when no sealed data exists yet."""
    _refuse_missing(config)
    return load_or_create_keys(config.key_file)


def existing_keys(config: Config) -> KeyMaterial | None:
    """The key file's keys, or None on a data folder never started (no key, no data)."""
    _refuse_missing(config)
    if not config.key_file.exists():
        return None
    return read_key_file(config.key_file)
