"""Pin what the bot runs on: every package it needs at run time, at the version installed here.

    python deploy/pin.py            write deploy/constraints.txt
    python deploy/pin.py --check    exit 1 (naming what differs) when it is out of date

The server install (README, "Running on a server") and `./dev` both install with
`-c deploy/constraints.txt`, so a server runs exactly the versions the tests ran on. Run
this after raising a dependency in pyproject.toml, then run the tests.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "deploy" / "constraints.txt"
HEADER = """\
# The exact versions of every package vertrouwd needs at run time, as the tests ran them.
# Made by `python deploy/pin.py` from the virtual environment of `./dev test`; do not
# edit by hand. Used by the README's server install and by ./dev:
#     pip install -c deploy/constraints.txt /opt/vertrouwd/src
# Exact versions, not hashes: each platform has wheels of its own.
"""


def _wanted(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def runtime_closure(root: Path = ROOT) -> dict[str, str]:
    """name -> installed version, for the project's dependencies and theirs."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [(Requirement(text), set[str]()) for text in project["dependencies"]]
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement, parent_extras = todo.pop()
        if not _wanted(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            found = distribution(requirement.name)
        except PackageNotFoundError:
            sys.exit(f"pin: {requirement.name} is not installed here; run ./dev test first")
        pins[name] = found.version
        extras = set(requirement.extras)
        todo += [(Requirement(text), extras) for text in found.requires or ()]
    return dict(sorted(pins.items()))


def render(pins: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in pins.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    wanted = render(runtime_closure())
    if not args.check:
        CONSTRAINTS.write_text(wanted, encoding="utf-8")
        print(f"wrote {CONSTRAINTS.relative_to(ROOT)}")
        return 0
    current = CONSTRAINTS.read_text(encoding="utf-8") if CONSTRAINTS.exists() else ""
    if current == wanted:
        print(f"{CONSTRAINTS.relative_to(ROOT)} is up to date")
        return 0
    old, new = set(current.splitlines()), set(wanted.splitlines())
    print(f"{CONSTRAINTS.relative_to(ROOT)} is out of date: run python deploy/pin.py")
    for line in sorted(old - new):
        print(f"  pinned, not installed: {line}")
    for line in sorted(new - old):
        print(f"  installed, not pinned: {line}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
