"""The program's version, as installed (pyproject.toml is its one source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def program_version() -> str:
    try:
        return version("vertrouwd")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
