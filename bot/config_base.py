"""What every part of the configuration shares: its error, and reading one setting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

KEY_FILE_ENV = "VERTROUWD_KEY_FILE"

# Ids travel in button data (Telegram allows 64 bytes) and in locale keys.
_ID = re.compile(r"^[a-z0-9_-]{1,40}$")


_ID_RULE = "at most 40 lowercase letters, digits, '-' or '_'"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting."""


def _get(table: dict[str, Any], section: str, key: str, kind: type) -> Any:
    value = table[section][key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{section}.{key}: must be a {kind.__name__}, got {value!r}")
    return value


def _positive(section: str, key: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{section}.{key}: must be greater than 0, got {value!r}")


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path
