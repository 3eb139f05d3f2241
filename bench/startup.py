"""Start-up: how long a command takes to load and check the config, in process and as a
whole `vertrouwd` process, beside the floor of a bare Python start in the same run."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _wall(command: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        config = work / "config.toml"
        config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"))
        python = sys.executable
        floor = _wall([python, "-c", "pass"], args.runs, work)
        load = (
            "import time; t = time.perf_counter(); from bot.config import load_config;"
            f" load_config(__import__('pathlib').Path({str(config)!r}), environ={{}});"
            " print(time.perf_counter() - t)"
        )
        in_process = statistics.median(
            float(
                subprocess.run(
                    [python, "-c", load], cwd=ROOT, check=True, capture_output=True, text=True
                ).stdout
            )
            for _ in range(args.runs)
        )
        command = _wall([python, "-m", "bot", "inbox", "--config", str(config)], args.runs, ROOT)
    print(f"bare python start:                  {floor * 1000:7.1f} ms (the floor)")
    print(f"import and load the config:         {in_process * 1000:7.1f} ms")
    print(
        f"`vertrouwd inbox` on an empty folder: {command * 1000:7.1f} ms"
        f" ({command / floor:.1f}x the floor)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
