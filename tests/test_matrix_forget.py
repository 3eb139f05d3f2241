"""What is deleted is gone from nio's store too, on the throwaway Synapse.

The bot's copy of a handoff's room key goes once the handoff is sent; /delete and
retention take an employee's direct chat, its keys and the person's devices out.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import time
from pathlib import Path

from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.matrix.session import STORE_DIR, MatrixSession
from bot.runtime import Runtime
from bot.texts.catalog import Texts
from tests.conftest import Person
from tests.matrix_serving import serving
from tests.matrix_world import World
from tests.test_matrix_dm import Employee, dm_config
from tests.test_matrix_handoff import wait_delivered
from tests.test_matrix_trust import until


def nio_store(world: World) -> Path:
    [database] = (world.folder / "data" / STORE_DIR).glob("*.db")
    return database


def rows(database: Path, sql: str, *params: str) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(sql, params).fetchone()[0])


async def test_each_handoff_has_its_own_room_key_and_the_bot_keeps_none(world: World):
    async with serving(world.config()) as runtime:
        for n in range(2):
            await Person(runtime, f"employee{n}").full_intake(description=f"handoff {n}")
            await wait_delivered(runtime)
    await world.adviser.until_seen(
        world.room_id,
        lambda a: all(any(f"handoff {n}" in e.body for e in a.text_events) for n in range(2)),
        15,
    )
    assert [("handoff 0" in e.body, "handoff 1" in e.body) for e in world.adviser.text_events] == [
        (True, False),
        (False, True),
    ]
    sessions = {e.session_id for e in world.adviser.text_events}
    assert len(sessions) == 2
    kept = rows(
        nio_store(world),
        "SELECT count(*) FROM megolminboundsessions WHERE room_id = ?",
        world.room_id,
    )
    assert kept == 0


async def served_chat(world: World, runtime: Runtime) -> tuple[Employee, str]:
    employee = Employee(await world.stranger("employee"))
    dm = await employee.open_direct_chat(world.bot_id)
    await employee.wait_for_member(dm, world.bot_id, "join")
    await employee.say(dm, "hoi")
    await employee.say(dm, "1")  # starts an intake
    return employee, dm


def traces(world: World, employee: Employee, dm: str) -> list[int]:
    database = nio_store(world)
    user = employee.person.user_id
    return [
        rows(database, "SELECT count(*) FROM devicekeys WHERE user_id = ?", user),
        sum(user in f.read_text() for f in database.parent.glob("*_devices")),
        rows(database, "SELECT count(*) FROM megolminboundsessions WHERE room_id = ?", dm),
        rows(database, "SELECT count(*) FROM encryptedrooms WHERE room_id = ?", dm),
    ]


async def test_delete_takes_the_direct_chat_and_the_person_out_of_nio_store(
    world: World, nl: Texts
):
    async with serving(dm_config(world)) as runtime:
        employee, dm = await served_chat(world, runtime)
        assert all(traces(world, employee, dm)), "nothing to delete: the test proves nothing"
        await employee.say(dm, "/delete")
        answers = await employee.say(dm, "1", seconds=20)
        assert answers[0]["body"] == nl("delete.done_matrix")
        left = nl("trust.dm_left")
        await employee.person.until_seen(dm, lambda p: any(t["body"] == left for t in p.texts), 10)
        assert employee.person.texts[-1]["body"] == left
        await employee.wait_for_member(dm, world.bot_id, "leave")
        # The employee may see the bot leave a moment before the bot has noted it.
        session = runtime.matrix_session
        assert session is not None
        await until(lambda: dm not in session.state.direct_rooms)
    assert traces(world, employee, dm) == [0, 0, 0, 0]
    localpart = employee.person.user_id.split(":")[0].encode()
    assert localpart not in nio_store(world).read_bytes()
    await employee.person.close()


async def test_retention_forgets_a_direct_chat_whose_conversation_expired(world: World):
    async with serving(dm_config(world)) as runtime:
        employee, dm = await served_chat(world, runtime)
        await runtime.retention.purge()
        assert all(traces(world, employee, dm)), "a live conversation is kept"
        await runtime.store.purge_idle_conversations(time.time() + 1)  # its term is over
        await runtime.retention.purge()
        await employee.wait_for_member(dm, world.bot_id, "leave")
    assert traces(world, employee, dm) == [0, 0, 0, 0]
    await employee.person.close()


async def test_nio_store_is_owner_only_even_under_umask_022(world: World):
    config = world.config()
    shutil.rmtree(config.bot.data_dir / STORE_DIR)  # a new device: nio creates its store afresh
    (config.bot.data_dir / "matrix-state.sealed").unlink()
    previous = os.umask(0o022)
    try:
        session = MatrixSession(
            config.matrix,  # type: ignore[arg-type]
            config.bot.data_dir,
            FieldCipher(load_or_create_keys(config.key_file)),
        )
        await session.open()
        await session.close()
    finally:
        os.umask(previous)
    store = config.bot.data_dir / STORE_DIR
    assert {stat.S_IMODE(p.stat().st_mode) for p in store.iterdir()} == {0o600}


async def test_a_direct_chat_the_person_left_leaves_nothing_in_nio_store(world: World):
    async with serving(dm_config(world)) as runtime:
        employee, dm = await served_chat(world, runtime)
        assert all(traces(world, employee, dm))
        await employee.person.leave(dm)
        state = runtime.matrix_session.state  # type: ignore[union-attr]
        for _ in range(100):
            if dm not in state.direct_rooms:
                break
            await asyncio.sleep(0.1)
        assert dm not in state.direct_rooms
    assert traces(world, employee, dm) == [0, 0, 0, 0]
    await employee.person.close()


async def test_a_device_verified_after_the_key_was_shared_ahead_reads_the_next_handoff(
    world: World,
):
    async with serving(world.config()) as runtime:
        await Person(runtime, "first").full_intake(description="before the laptop")
        await wait_delivered(runtime)  # the next key is shared ahead, to the phone only
        laptop = await world.adviser_device("Anna's new laptop")
        await laptop.cross_sign(world.adviser_keys)  # the adviser verifies it
        await Person(runtime, "second").full_intake(description="after the laptop")
        await wait_delivered(runtime)
    await laptop.until_seen(
        world.room_id, lambda p: any("after the laptop" in t["body"] for t in p.texts)
    )
    await laptop.close()
