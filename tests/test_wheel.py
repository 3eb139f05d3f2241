"""Installed from a package: the wheel holds everything the bot needs, and the versions
a server installs are pinned.

The wheel is built from a copy of this tree, installed into a fresh virtual environment
(its dependencies come from the test environment's site-packages, so nothing is
downloaded but the build backend), and run from an empty folder with no source
checkout anywhere on its path: `vertrouwd init`, then `vertrouwd run` until it is ready.
"""

from __future__ import annotations

import os
import shutil
import signal
import site
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

_LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", ".synapse-venv", "data", "build", "dist", "*.egg-info", "__pycache__",
    ".pytest_cache", ".mypy_cache", ".ruff_cache",
)  # fmt: skip


def _clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH (the tests put the source tree on it) and none of the bot's settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH" and not k.startswith(("VERTROUWD_", "CREDENTIALS_"))
    } | {"HOME": str(home)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The `bin` folder of a fresh virtual environment with the wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_LEFT_OUT)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"),
         str(source)],
        capture_output=True, text=True, check=False, timeout=600, env=_clean_env(work),
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (work / "dist").glob("vertrouwd-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--ignore-installed", "--quiet", str(wheel)],
        capture_output=True, text=True, check=False, timeout=300, env=_clean_env(work),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # The dependencies: the test environment's own site-packages, after the new one's.
    # A path line in a .pth file runs none of that folder's own .pth files, so an
    # editable install of this tree there stays out.
    [target] = venv.glob("lib/python*/site-packages")
    (target / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    shutil.rmtree(source)  # nothing can be found in a checkout any more
    yield venv / "bin"


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the bot ended before {what}: {process.communicate()}")
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.1)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_a_wheel_install_sets_up_and_serves_from_an_empty_folder(
    installed: Path, tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
):
    folder = tmp_path / "organisation"
    folder.mkdir()
    env = _clean_env(tmp_path)
    where = subprocess.run(
        [installed / "python", "-c", "import bot; print(bot.__file__)"],
        capture_output=True, text=True, check=True, cwd=folder, env=env,
    )  # fmt: skip
    assert where.stdout.startswith(str(installed.parent)), where.stdout  # the wheel's copy
    weights = subprocess.run(
        [installed / "python", "-c",
         "from bot.scorer.model import WEIGHTS_FILE, Weights; Weights.load();"
         " print(WEIGHTS_FILE)"],
        capture_output=True, text=True, check=True, cwd=folder, env=env,
    )  # fmt: skip
    assert weights.stdout.startswith(str(installed.parent)), weights.stdout  # the scorer's

    web_port, ops_port = unused_tcp_port_factory(), unused_tcp_port_factory()
    init = subprocess.run(
        [installed / "vertrouwd", "init", "--non-interactive",
         "--organisation", "Stichting Wiel", "--adviser", "name=Anna de Boer; hours=ma-vr 9-17",
         "--web", "--web-public-url", "https://praat.example.nl", "--web-port", str(web_port),
         "--ops", "--ops-port", str(ops_port)],
        capture_output=True, text=True, check=False, cwd=folder, env=env, timeout=300,
    )  # fmt: skip
    assert init.returncode == 0, init.stdout + init.stderr
    assert "ok    web chat" in init.stdout and "Ready: start the bot" in init.stdout
    config = folder / "config.toml"
    # The documented example came from inside the package, with every comment.
    assert "# An anonymous web chat, reached by a link" in config.read_text()
    texts = subprocess.run(
        [installed / "vertrouwd", "texts", "check", "--config", str(config)],
        capture_output=True, text=True, check=False, cwd=folder, env=env,
    )  # fmt: skip
    assert texts.returncode == 0 and str(installed.parent) in texts.stdout, texts.stdout

    bot = subprocess.Popen(
        [installed / "vertrouwd", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder, env=env,
    )  # fmt: skip
    try:
        _wait_until(lambda: _get(f"http://127.0.0.1:{ops_port}/readyz")[0] == 200, bot, "ready")
        status, body = _get(f"http://127.0.0.1:{ops_port}/readyz")
        assert '"web": "ok"' in body
        status, page = _get(f"http://127.0.0.1:{web_port}/")
        assert status == 200 and "Stichting Wiel" in page  # template and texts found
        status, css = _get(f"http://127.0.0.1:{web_port}/static/style.css")
        assert status == 200 and css.strip()
        doctor = subprocess.run(
            [installed / "vertrouwd", "doctor", "--config", str(config)],
            capture_output=True, text=True, check=False, cwd=folder, env=env, timeout=120,
        )  # fmt: skip
        assert f"served on 127.0.0.1:{web_port} by the running bot" in doctor.stdout
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    finally:
        bot.send_signal(signal.SIGTERM)
        _, logged = bot.communicate(timeout=60)
    assert bot.returncode == 0, logged


def _pins() -> dict[str, Version]:
    lines = (ROOT / "deploy" / "constraints.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): Version(version) for name, version in pins}


def test_the_server_install_gets_the_tested_versions_above_known_advisories():
    checked = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "pin.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout  # every runtime package, as installed
    pins = _pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"]:
        requirement = Requirement(text)
        pinned = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned), (text, pinned)
    # The floors themselves shut out the releases with known advisories.
    floors = {
        Requirement(t).name.lower(): Requirement(t).specifier for t in project["dependencies"]
    }
    assert not floors["aiohttp"].contains("3.14.2") and not floors["jinja2"].contains("3.1.5")
    readme = (ROOT / "README.md").read_text()
    assert "pip install -c /opt/vertrouwd/src/deploy/constraints.txt" in readme
