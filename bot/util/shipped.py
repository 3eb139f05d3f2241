"""The files that ship inside the package, found through importlib.resources.

The texts (``locales/``), the documented example config, the embedded default, the web
chat's templates and static files and the danger scorer's weights are package data: an
installed wheel holds them, and a source checkout reaches the texts and the example
(kept at the top of the repository, where an admin looks for them) through symlinks
inside ``bot/``. So no code looks for a file relative to a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def shipped(*parts: str) -> Path:
    """A file or folder of the installed package, as a path on disk (in a checkout, the
    file a symlink points at: messages then name the file an admin would edit)."""
    found = files("bot").joinpath(*parts)
    # A zipped install would hand out other Traversables; pip always unpacks a wheel.
    if not isinstance(found, Path):  # pragma: no cover - only a zipimport install
        raise RuntimeError(f"vertrouwd must be installed unpacked: {found} is not a file")
    return found.resolve()


def locales() -> Path:
    """The texts shipped with the bot (``bot.locales_dir`` unset)."""
    return shipped("locales")


def example_config() -> Path:
    """config.example.toml: every setting, documented, with its default."""
    return shipped("config", "example.toml")
