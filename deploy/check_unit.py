"""Check the service unit as systemd would: `verify`, then the exposure score.

    python deploy/check_unit.py [--program PATH] [--max 2.0]

`systemd-analyze verify` wants the program of ExecStart= to exist, so a copy of the
unit is checked with it pointing at PATH (default: the `vertrouwd` next to this
Python). Prints both results; exits 1 when verify fails or the score is above --max.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

UNIT = Path(__file__).resolve().parent / "vertrouwd.service"
INSTALLED = "/opt/vertrouwd/venv/bin/vertrouwd"
_SCORE = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program", default=str(Path(sys.executable).parent / "vertrouwd"))
    parser.add_argument("--max", type=float, default=2.0, help="highest exposure allowed")
    args = parser.parse_args()
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("systemd-analyze is missing: apt-get install systemd", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        unit = Path(folder) / UNIT.name
        unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, args.program))
        verify = subprocess.run(
            [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
        )
        security = subprocess.run(
            [analyze, "security", "--offline=yes", "--no-pager", str(unit)],
            capture_output=True,
            text=True,
            check=False,
        )
    problems = (verify.stdout + verify.stderr).strip()
    verified = verify.returncode == 0 and not problems
    print(f"systemd-analyze verify: {'ok' if verified else 'FAILED'}")
    if problems:
        print(problems)
    found = _SCORE.search(security.stdout)
    if found is None:
        print(f"no exposure score in the output of systemd-analyze security:\n{security.stderr}")
        return 1
    score = float(found.group(1))
    print(f"exposure score: {score} (at most {args.max} allowed)")
    return 0 if verified and score <= args.max else 1


if __name__ == "__main__":
    sys.exit(main())
