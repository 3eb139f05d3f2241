"""`vertrouwd doctor` and `vertrouwd matrix setup` against the real homeserver."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from bot.config import Config
from bot.runtime import open_runtime
from tests.conftest import Person, run_cli
from tests.matrix_world import World
from tests.synapse_server import free_port


def doctor(world: World) -> tuple[int, str]:
    result = run_cli(["doctor", "--config", str(world.folder / "config.toml")], timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


def test_doctor_passes_on_a_correct_setup(world: World):
    world.config()
    code, report = doctor(world)
    assert code == 0, report
    for line in (
        "homeserver reachable",
        "login",
        "cross-signing",
        "room of anna",
        "devices of anna",
        "1 verified",
    ):
        assert line in report, report
    assert "FAIL" not in report


async def test_doctor_names_an_unreachable_homeserver_and_the_bot_keeps_the_handoff(
    world: World,
):
    config = world.config(homeserver=f"http://127.0.0.1:{free_port()}")
    code, report = doctor(world)
    assert code == 1
    assert "FAIL  homeserver reachable" in report and "fix:" in report
    await assert_served_and_kept(config)


async def assert_served_and_kept(config: Config) -> None:
    """The employee is answered as usual and the handoff waits in the outbox."""
    async with open_runtime(config) as runtime:
        replies = await Person(runtime, "employee").full_intake()
        assert "case number" in replies[0].text
        await asyncio.sleep(1.0)
        assert await runtime.store.pending_count() == 1


async def test_doctor_names_a_wrong_password_and_the_bot_keeps_the_handoff(
    world: World, tmp_path: Path
):
    # A fresh installation (no stored session) with the wrong password.
    world.folder = tmp_path / "fresh"
    world.folder.mkdir()
    (world.folder / "bot.password").write_text("not the password")
    config = world.config()
    code, report = doctor(world)
    assert code == 1
    assert "FAIL  login" in report and "was refused" in report
    await assert_served_and_kept(config)


async def test_doctor_names_a_missing_room_and_the_bot_keeps_the_handoff(world: World):
    config = world.config(room_id=f"!missing{uuid.uuid4().hex[:6]}:localhost")
    code, report = doctor(world)
    assert code == 1
    assert "FAIL  room of anna" in report and "matrix setup" in report
    await assert_served_and_kept(config)


async def test_matrix_setup_creates_a_room_the_guard_accepts(world: World):
    world.config(room_id="")
    result = run_cli(
        ["matrix", "setup", "--adviser", "anna", "--config", str(world.folder / "config.toml")],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    room_id = result.stdout.split()[1]
    assert room_id.startswith("!")
    await world.adviser.join(room_id)
    world.config(room_id=room_id)
    code, report = doctor(world)
    assert code == 0, report
