"""The program's version, as installed (pyproject.toml is its one source)."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version


@functools.cache  # the code running does not change while it runs; a bureau asks per database
def program_version() -> str:
    try:
        return version("vertrouwd")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
