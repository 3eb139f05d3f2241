"""Only what the cryptography proves is believed, on the throwaway Synapse.

A homeserver that lies in /keys/query cannot get its own device signed as the bot's;
a stolen access token (or the server) writing as the adviser or an admin, in clear or
from a session nobody verified, is not obeyed.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import shutil
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.matrix.errors import CrossSigningError
from bot.matrix.session import MatrixSession
from bot.matrix.signing import public_key_b64, sign_json
from bot.messages import Reply
from bot.sinks.base import DeliveryDeferred
from bot.texts.catalog import Texts
from tests.matrix_people import MatrixPerson
from tests.matrix_proxy import LyingHomeserver
from tests.matrix_serving import serving
from tests.matrix_world import World
from tests.test_admin_room import Member, admin_config, admin_room, joined
from tests.test_line import Employee, sent_case
from tests.test_matrix_dm import Employee as DmEmployee
from tests.test_matrix_dm import dm_config
from tests.test_matrix_handoff import keys_seen_by_a_stranger

KEYS_QUERY = "/_matrix/client/v3/keys/query"
SIGNATURES_UPLOAD = "/_matrix/client/v3/keys/signatures/upload"


def forged_device(device: dict[str, Any], user_id: str, attacker: Ed25519PrivateKey) -> Any:
    """The same device id with the attacker's key, properly self-signed by it."""
    device_id = device["device_id"]
    forged = {k: copy.deepcopy(v) for k, v in device.items() if k not in ("signatures",)}
    forged["keys"] = {
        f"ed25519:{device_id}": public_key_b64(attacker),
        f"curve25519:{device_id}": device["keys"][f"curve25519:{device_id}"],
    }
    signed = sign_json(forged, user_id, attacker)
    signature = signed["signatures"][user_id].pop(f"ed25519:{public_key_b64(attacker)}")
    signed["signatures"][user_id][f"ed25519:{device_id}"] = signature
    return signed


async def test_a_homeserver_substituting_the_bot_device_keys_gets_nothing_signed(world: World):
    proxy = await LyingHomeserver(world.synapse.url).start()
    attacker = Ed25519PrivateKey.generate()

    def substitute(answer: dict[str, Any]) -> dict[str, Any]:
        devices = answer.get("device_keys", {}).get(world.bot_id, {})
        for device_id, device in list(devices.items()):
            devices[device_id] = forged_device(device, world.bot_id, attacker)
        return answer

    proxy.rewrites[KEYS_QUERY] = substitute
    config = world.config(homeserver=proxy.url)
    shutil.rmtree(config.bot.data_dir / "matrix-store")  # a new device, never signed
    (config.bot.data_dir / "matrix-state.sealed").unlink()
    session = MatrixSession(
        config.matrix,  # type: ignore[arg-type]
        config.bot.data_dir,
        FieldCipher(load_or_create_keys(config.key_file)),
    )
    try:
        with pytest.raises(CrossSigningError, match="differs from the device's own keys"):
            await session.open()
        assert not session.ready
        device_id = session.client.device_id  # type: ignore[union-attr]
    finally:
        await session.close()
        await proxy.stop()
    assert ("POST", SIGNATURES_UPLOAD) not in proxy.requested
    # What everyone else sees: the bot's real device, not signed by its identity either.
    seen = await keys_seen_by_a_stranger(world)
    device = seen["device_keys"][world.bot_id][device_id]
    assert device["keys"][f"ed25519:{device_id}"] != public_key_b64(attacker)
    assert list(device["signatures"][world.bot_id]) == [f"ed25519:{device_id}"]


def send_in_clear(
    world: World, person: MatrixPerson, room_id: str, content: dict[str, Any]
) -> None:
    """A plain, never-encrypted event under the person's id: what a stolen token allows."""
    path = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}"
    world.synapse.request("PUT", path, content, token=person.client.access_token)


async def second_session(world: World, person: MatrixPerson, name: str) -> MatrixPerson:
    """The same user logged in somewhere else, never verified."""
    device = await MatrixPerson(
        world.synapse, person.user_id, person.password, world.folder / name, name
    ).login()
    await device.client.sync(timeout=0)
    if device.client.should_query_keys:
        await device.client.keys_query()
    return device


async def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_only_a_verified_device_of_the_adviser_speaks_for_the_adviser(
    world: World, en: Texts, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    adviser, room = world.adviser, world.room_id
    refusal = en("trust.adviser_unverified")
    async with serving(world.config()) as runtime:
        employee = Employee(runtime, "employee")
        employee.listen()
        await sent_case(employee)
        await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
        root = adviser.text_events[0].event_id
        thread = {"rel_type": "m.thread", "event_id": root}

        # Someone with the adviser's access token writes in clear, in the case's thread.
        send_in_clear(
            world,
            adviser,
            room,
            {"msgtype": "m.text", "body": "Clear BSN please", "m.relates_to": thread},
        )
        await adviser.until_seen(room, lambda a: a.notices.count(refusal) >= 1)
        # A session of the adviser's account that the adviser never verified.
        laptop = await second_session(world, adviser, "unverified laptop")
        await laptop.send_text(room, "Laptop BSN please", thread_root=root)
        await adviser.until_seen(room, lambda a: a.notices.count(refusal) >= 2)
        # The adviser's own verified session is passed on.
        await adviser.send_text(room, "Shall we talk on Tuesday?", thread_root=root)
        await until(lambda: any("Tuesday" in r.text for r in employee.relayed))
        await laptop.close()
    relayed = " ".join(r.text for r in employee.relayed)
    assert "BSN" not in relayed
    assert "(not-encrypted)" in caplog.text
    assert "(device-not-cross-signed)" in caplog.text
    assert "BSN" not in caplog.text


async def test_only_a_verified_device_of_an_admin_changes_texts(
    world: World, en: Texts, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    admin = await world.stranger("admin")
    await admin.cross_sign()
    room_id = await admin_room(world, admin)
    config = admin_config(world, admin.user_id, room_id)
    async with serving(config) as runtime:
        nl = runtime.catalog.texts("nl")
        refusal = nl("trust.admin_unverified")
        await joined(admin, room_id, world.bot_id)
        boss = Member(admin, room_id)
        assert (await boss.command("keys menu.pro")).split("\n") == ["menu.prompt"]

        before = len(admin.notices)
        send_in_clear(
            world,
            admin,
            room_id,
            {"msgtype": "m.text", "body": "set menu.prompt en Hacked in clear"},
        )
        await admin.until_seen(room_id, lambda a: len(a.notices) > before)
        assert admin.notices[-1] == refusal
        other = await second_session(world, admin, "admin laptop")
        assert await Member(other, room_id).command("set menu.prompt en Hacked unverified")
        await admin.until_seen(room_id, lambda a: a.notices.count(refusal) >= 2)
        await other.close()
        assert runtime.catalog.texts("en")("menu.prompt") == en("menu.prompt")
        answer = await boss.command("set menu.prompt en How can I help you today?")
        assert answer.startswith("Opgeslagen als wijziging 1")
    assert "Hacked" not in (config.locales_dir / "en.toml").read_text()
    assert "(not-encrypted)" in caplog.text and "(device-not-cross-signed)" in caplog.text
    await admin.close()


async def test_a_message_in_clear_in_a_direct_chat_is_not_taken_as_the_employee_s(
    world: World, nl: Texts
):
    employee = DmEmployee(await world.stranger("employee"))
    async with serving(dm_config(world)):
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        await employee.say(dm, "hoi")
        before = len(employee.person.texts)
        send_in_clear(world, employee.person, dm, {"msgtype": "m.text", "body": "1"})
        refused = nl("trust.dm_not_encrypted")
        await employee.person.until_seen(
            dm, lambda p: any(t["body"] == refused for t in p.texts[before:]), 20
        )
        assert [t["body"] for t in employee.person.texts[before:]] == [refused]
        [menu_again] = await employee.say(dm, "/menu")
        assert menu_again["body"].startswith(nl("menu.prompt"))
    await employee.person.close()


async def test_one_open_direct_chat_per_person(world: World):
    employee = DmEmployee(await world.stranger("employee"))
    async with serving(dm_config(world)) as runtime:
        first = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(first, world.bot_id, "join")
        second = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(second, world.bot_id, "leave")
        state = runtime.matrix_session.state  # type: ignore[union-attr]
        assert state.direct_rooms == [first]
    await employee.person.close()


async def test_nothing_goes_into_a_direct_chat_that_someone_else_entered(world: World):
    employee = DmEmployee(await world.stranger("employee"))
    async with serving(dm_config(world)) as runtime:
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        await employee.say(dm, "hoi")
        channel = runtime.matrix_dm
        assert channel is not None
        room = runtime.matrix_session.client.rooms[dm]  # type: ignore[union-attr]
        # The server says a third person is in the chat, between two syncs.
        room.add_member("@eve:localhost", "Eve", None)
        with pytest.raises(DeliveryDeferred, match="direct-chat-not-one-to-one"):
            await channel.send_to(dm, [Reply("Message from Anna: call me")], "relay-x-0")
        room.remove_member("@eve:localhost")
        assert await channel.send_to(dm, [Reply("Message from Anna: call me")], "relay-x-1")
        await employee.person.until_seen(
            dm, lambda p: any(t["body"] == "Message from Anna: call me" for t in p.texts), 10
        )
    bodies = [t["body"] for t in employee.person.texts]
    assert bodies.count("Message from Anna: call me") == 1
    await employee.person.close()
