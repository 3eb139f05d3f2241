"""Start-up: how long loading and checking the config takes, in process and as a whole
`vertrouwd inbox` process, beside the floor of a bare Python start in the same run.

With ``--against DIR`` (another checkout of vertrouwd, e.g. an older commit made with
``git worktree add``) the same figures are taken for that tree too, alternating runs so
both see the same machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LOAD = (
    "import time, pathlib; t = time.perf_counter(); from bot.config import load_config;"
    " load_config(pathlib.Path({config!r}), environ={{}}); print(time.perf_counter() - t)"
)


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


def _wall(command: list[str], tree: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=tree, env=_env(tree), check=True, capture_output=True)
    return time.perf_counter() - started


def _load(tree: Path, config: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _LOAD.format(config=str(config))],
        cwd=tree,
        env=_env(tree),
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--against", type=Path, help="another checkout to measure beside")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.against:
        trees["--against"] = args.against.resolve()
    figures: dict[str, dict[str, list[float]]] = {
        name: {"floor": [], "load": [], "inbox": []} for name in trees
    }
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.runs):
            for name, tree in trees.items():
                config = Path(folder) / name.replace(" ", "-") / "config.toml"
                config.parent.mkdir(exist_ok=True)
                config.write_text((tree / "config.example.toml").read_text(encoding="utf-8"))
                got = figures[name]
                got["floor"].append(_wall([sys.executable, "-c", "pass"], tree))
                got["load"].append(_load(tree, config))
                got["inbox"].append(
                    _wall([sys.executable, "-m", "bot", "inbox", "--config", str(config)], tree)
                )
    print(f"medians of {args.runs} alternating runs (ms)")
    print(f"{'tree':<12} {'python -c pass':>15} {'import+load config':>19} {'vertrouwd inbox':>16}")
    for name, got in figures.items():
        floor, load, inbox = (statistics.median(got[k]) * 1000 for k in ("floor", "load", "inbox"))
        print(f"{name:<12} {floor:15.1f} {load:19.1f} {inbox:16.1f}  ({inbox / floor:.1f}x floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
