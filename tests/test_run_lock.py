"""One `vertrouwd run` per data dir, and `vertrouwd doctor` beside a running bot."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot.ops import run_lock
from tests.conftest import run_cli
from tests.fake_telegram import FakeTelegram
from tests.matrix_world import World
from tests.telegram_harness import BotProcess, telegram_config_file, telegram_section, until


async def started(bot: BotProcess, fake: FakeTelegram) -> None:
    await bot.start()
    await until(lambda: any(method == "getUpdates" for method, _ in fake.calls), timeout=30)


async def test_a_second_run_on_the_same_data_dir_refuses_and_names_the_first(
    fake: FakeTelegram, tmp_path: Path
):
    config_file = telegram_config_file(tmp_path, fake)
    first = BotProcess(config_file)
    await started(first, fake)
    assert first.process is not None
    assert run_lock.holder(tmp_path / "data") == first.process.pid

    second = await asyncio.to_thread(run_cli, ["run", "--config", str(config_file)])
    assert second.returncode == 2
    assert f"process {first.process.pid} is already running on the data dir" in second.stderr
    assert "Traceback" not in second.stderr

    # Killed, as a crash would: the lock goes with the process, the next start works.
    first.process.send_signal(signal.SIGKILL)
    await first.process.wait()
    assert run_lock.holder(tmp_path / "data") is None
    fake.calls.clear()
    third = BotProcess(config_file)
    await started(third, fake)
    code, logged = await third.stop()
    assert code == 0, logged


def olm_store(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (data_dir / "matrix-store").iterdir()}


async def test_doctor_beside_a_running_bot_reads_only_and_says_so(
    world: World, fake: FakeTelegram, tmp_path: Path
):
    config_file = world.folder / "config.toml"
    config_file.write_text(world.config_text() + telegram_section(world.folder, fake, ""))
    data_dir = world.folder / "data"
    bot = BotProcess(config_file)
    await started(bot, fake)
    assert bot.process is not None
    await until(lambda: (data_dir / "matrix-state.sealed").exists(), timeout=30)
    await asyncio.sleep(1.0)  # the bot's first sync and key upload are done
    before = olm_store(data_dir)

    result = await asyncio.to_thread(run_cli, ["doctor", "--config", str(config_file)], timeout=120)
    report = result.stdout
    assert result.returncode == 0, report + result.stderr
    assert f"vertrouwd run (process {bot.process.pid}) uses this data dir" in report
    assert "without syncing or touching its encryption keys" in report
    for line in ("ok    login", "ok    room of anna", "ok    devices of anna"):
        assert line in report, report
    assert "FAIL" not in report
    assert olm_store(data_dir) == before  # doctor opened no encryption store of its own

    code, logged = await bot.stop()
    assert code == 0, logged
    # With the bot stopped, doctor does its full round again.
    result = await asyncio.to_thread(run_cli, ["doctor", "--config", str(config_file)], timeout=120)
    assert result.returncode == 0, result.stdout
    assert "running bot" not in result.stdout and "ok    cross-signing" in result.stdout
