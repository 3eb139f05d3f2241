"""Running under systemd: the unit as systemd checks it, and the bot as systemd sees it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.keys.crypto import new_key_material, write_key_file
from tests.conftest import ROOT
from tests.fake_telegram import FakeTelegram, Person
from tests.telegram_harness import Chat


def test_the_unit_passes_systemd_analyze_verify_and_exposes_little():
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: run ./dev test (it installs systemd)")
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "check_unit.py"), "--max", "2.0"],
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout)  # the figures, for whoever reads the test output
    assert "systemd-analyze verify: ok" in done.stdout, done.stdout + done.stderr
    score = float(re.search(r"exposure score: (\d+\.\d+)", done.stdout).group(1))
    assert score <= 2.0
    assert done.returncode == 0


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / "vertrouwd.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_a_bad_config_stops_the_service_instead_of_restarting_it_forever():
    assert unit_settings()["RestartPreventExitStatus"] == ["2"]
    bad = ROOT / "deploy" / "vertrouwd.service"  # not a config: `run` must say so with 2
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(bad)],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("vertrouwd: config file") and "Traceback" not in done.stderr


def test_the_unit_bounds_open_files_memory_and_tasks():
    settings = unit_settings()
    assert int(settings["LimitNOFILE"][0]) >= 16384  # far above the 1024 of a default
    assert settings["MemoryMax"] == ["1G"] and settings["MemoryHigh"] == ["768M"]
    assert 64 <= int(settings["TasksMax"][0]) <= 1024


class NotifySocket:
    """What systemd listens on for a Type=notify service: datagrams on a Unix socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.received: list[str] = []

    async def next(self, timeout: float = 15.0) -> str:
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), timeout)
        self.received.append(data.decode())
        return self.received[-1]

    async def wait_for(self, prefix: str) -> str:
        while not (message := await self.next()).startswith(prefix):
            pass
        return message


async def test_the_service_tells_systemd_it_is_ready_pets_the_watchdog_and_reloads(
    tmp_path: Path, fake: FakeTelegram
):
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    (credentials / "telegram-token").write_text(fake.token + "\n")
    write_key_file(credentials / "secret.key", new_key_material())
    config = tmp_path / "config.toml"
    config.write_text(
        '[bot]\ndata_dir = "state"\n'
        f'[telegram]\nenabled = true\napi_base_url = "http://127.0.0.1:{fake.port}"\n'
        "poll_timeout_seconds = 1\n"
    )
    notify = NotifySocket(tmp_path / "notify")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    env |= {
        "NOTIFY_SOCKET": str(notify.path),
        "WATCHDOG_USEC": "200000",
        "CREDENTIALS_DIRECTORY": str(credentials),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert await notify.next() == "READY=1\nSTATUS=serving"
        assert await notify.next() == "WATCHDOG=1"
        assert await notify.next() == "WATCHDOG=1"  # again and again, from the event loop

        # The token came from the credential: Telegram answers the person.
        chat = Chat(fake, _Idle(), Person(5_551_600, "Sam", language_code="en"))
        await chat.say("hi")
        assert chat.texts()

        process.send_signal(signal.SIGHUP)  # systemctl reload
        assert (await notify.wait_for("RELOADING=1")).startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert await notify.wait_for("READY=1") == "READY=1"

        process.send_signal(signal.SIGTERM)  # systemctl stop
        assert await notify.wait_for("STOPPING=1") == "STOPPING=1"
        assert process.stderr is not None
        _, logged = await asyncio.wait_for(process.communicate(), 30)
        assert await process.wait() == 0, logged.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        notify.sock.close()
    # The data key came from the credential, none was made in the state folder.
    assert (tmp_path / "state" / "vertrouwd.sqlite3").exists()
    assert not (tmp_path / "state" / "secret.key").exists()
    assert fake.token not in logged.decode()


class _Idle:
    def idle(self) -> bool:
        return True


def test_without_notify_socket_nothing_is_sent_and_nothing_fails():
    from bot.ops.systemd import notify, watchdog_interval

    assert notify("READY=1", environ={}) is False
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
