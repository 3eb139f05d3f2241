"""The handoff into the adviser's Matrix room, against a real Synapse, decrypted by the adviser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime import Runtime, open_runtime
from tests.conftest import Person
from tests.matrix_world import World, make_world, synapse  # noqa: F401 - fixture

CANARY = "WombatCanary4471"


@pytest.fixture
async def world(synapse, tmp_path: Path) -> AsyncIterator[World]:  # noqa: F811
    async for made in make_world(synapse, tmp_path):
        yield made


async def wait_delivered(runtime: Runtime, seconds: float = 20) -> None:
    for _ in range(int(seconds * 20)):
        if await runtime.store.pending_count() == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the handoff was not delivered")


async def test_the_adviser_decrypts_the_handoff_with_every_answer(world: World):
    async with open_runtime(world.config()) as runtime:
        person = Person(runtime, "employee")
        await person.full_intake(description=f"<b>Boss</b> & {CANARY}", name="Robin", danger="yes")
        await wait_delivered(runtime)
    await world.adviser.collect(world.room_id, 15)
    [message] = world.adviser.texts
    assert message["msgtype"] == "m.text"
    body = message["body"]
    assert body.startswith("URGENT")
    for expected in (
        "Bullying",
        f"<b>Boss</b> & {CANARY}",
        "Robin",
        "robin@example.nl",
        "Evenings",
        "This week",
        "Case reference:",
        "Consent: given on",
        "Channel: terminal",
    ):
        assert expected in body, expected
    html = message["formatted_body"]
    assert f"&lt;b&gt;Boss&lt;/b&gt; &amp; {CANARY}" in html
    assert "<b>Boss</b>" not in html
