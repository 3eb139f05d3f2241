"""What every section of the configuration shares: its error, the struct every table
is declared with, and the small types that carry their bounds (ids, ports, URLs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

KEY_FILE_ENV = "VERTROUWD_KEY_FILE"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting."""


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One table of the config file: typed, bounded, and refusing keys it does not know."""


# Ids travel in button data (Telegram allows 64 bytes) and in locale keys.
Id = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9_-]{1,40}$",
        description="at most 40 lowercase letters, digits, '-' or '_'",
    ),
]
Text = Annotated[str, Meta(pattern=r"\S", description="a non-empty string")]
Port = Annotated[int, Meta(ge=1, le=65535, description="a port number (1 to 65535)")]
HttpUrl = Annotated[str, Meta(pattern=r"^https?://\S", description="an http(s) URL")]
# An optional address: empty, or an http(s) URL.
MaybeHttpUrl = Annotated[str, Meta(pattern=r"^(https?://\S.*)?$", description="an http(s) URL")]
MatrixUserId = Annotated[
    str, Meta(pattern=r"^@[^:\s]+:\S+$", description="a Matrix id like @name:example.org")
]
MaybeMatrixUserId = Annotated[
    str, Meta(pattern=r"^(@[^:\s]+:\S+)?$", description="a Matrix id like @name:example.org")
]
# A file the config names, relative to the config file; "" (the default) for none.
MaybeFile = Path | None
LanguageTexts = Annotated[
    dict[str, Annotated[str, Meta(pattern=r"\S")]],
    Meta(min_length=1, description="a table that maps language codes to text"),
]


def resolve(base_dir: Path, path: Path) -> Path:
    """A path as the admin wrote it, relative to the config file's folder."""
    path = path.expanduser()
    return path if path.is_absolute() else base_dir / path
