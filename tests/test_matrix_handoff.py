"""The handoff into the adviser's Matrix room, against a real Synapse, decrypted by the adviser."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil

import pytest

from bot.data_folder import STORE_FILE
from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.matrix.session import MatrixSession
from bot.runtime import Runtime, open_runtime
from bot.sinks.base import OutgoingHandoff
from bot.sinks.matrix_room import MatrixRoomSink
from bot.store import SqliteStore
from bot.texts.catalog import load_catalog
from tests.conftest import Person
from tests.matrix_people import MatrixPerson
from tests.matrix_world import World

CANARY = "WombatCanary4471"


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
        "Case number:",
        "Consent: given on",
        "Channel: terminal",
    ):
        assert expected in body, expected
    html = message["formatted_body"]
    assert f"&lt;b&gt;Boss&lt;/b&gt; &amp; {CANARY}" in html
    assert "<b>Boss</b>" not in html


def _verify(obj: dict, user_id: str, key_id: str, public_b64: str) -> None:
    """Ed25519 check written out here, independent of the bot's own signing module."""
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def unb64(text: str) -> bytes:
        return base64.b64decode(text + "=" * (-len(text) % 4))

    signable = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    message = json.dumps(signable, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    signature = obj["signatures"][user_id][key_id]
    Ed25519PublicKey.from_public_bytes(unb64(public_b64)).verify(
        unb64(signature), message.encode()
    )  # raises InvalidSignature when wrong


async def keys_seen_by_a_stranger(world: World) -> dict:
    """The bot's published keys, as any other user of the homeserver fetches them."""
    stranger = await world.stranger()
    keys = world.synapse.request(
        "POST",
        "/_matrix/client/v3/keys/query",
        {"device_keys": {world.bot_id: []}},
        token=stranger.client.access_token,
    )
    await stranger.close()
    return keys


async def test_the_bot_device_is_cross_signed_by_its_own_identity(world: World):
    async with open_runtime(world.config()) as runtime:
        await Person(runtime, "employee").full_intake()
        await wait_delivered(runtime)
        device_id = runtime.sink.session.client.device_id  # type: ignore[union-attr]
    keys = await keys_seen_by_a_stranger(world)
    master = keys["master_keys"][world.bot_id]
    [(master_id, master_key)] = master["keys"].items()
    ssk = keys["self_signing_keys"][world.bot_id]
    [(ssk_id, ssk_key)] = ssk["keys"].items()
    assert ssk["usage"] == ["self_signing"]
    _verify(ssk, world.bot_id, master_id, master_key)
    device = keys["device_keys"][world.bot_id][device_id]
    _verify(device, world.bot_id, ssk_id, ssk_key)


async def test_a_canary_never_rests_in_plain_text_on_the_homeserver_or_in_the_bot(
    world: World, caplog: pytest.LogCaptureFixture, log_format: str
):
    caplog.set_level(logging.DEBUG)
    async with open_runtime(world.config()) as runtime:
        person = Person(runtime, "canary")
        await person.full_intake(description=f"it was {CANARY}", name=f"N{CANARY}")
        await wait_delivered(runtime)
    bot_logs = caplog.text  # the bot's and matrix-nio's log lines, at DEBUG
    assert "handoff" in bot_logs and CANARY not in bot_logs
    if log_format == "json":
        assert all(json.loads(line)["logger"] for line in bot_logs.splitlines())
    await world.adviser.collect(world.room_id, 15)
    assert CANARY in world.adviser.texts[0]["body"]
    for path in [*world.synapse.data_files(), *(world.folder / "data").rglob("*")]:
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


async def test_a_stranger_in_the_room_holds_the_handoff_until_they_are_gone(world: World):
    stranger = await world.stranger()
    bot_session_config = world.config()
    async with open_runtime(bot_session_config) as runtime:
        # The adviser invites someone else: the room is no longer only theirs.
        await world.adviser.client.room_invite(world.room_id, stranger.user_id)
        await stranger.join(world.room_id)
        await Person(runtime, "employee").full_intake(description=f"secret {CANARY}")
        await asyncio.sleep(1.5)
        assert await runtime.store.pending_count() == 1
        await stranger.collect(world.room_id, 1)
        assert stranger.texts == [] and stranger.undecryptable == 0
        await world.adviser.client.room_kick(world.room_id, stranger.user_id)
        runtime.worker.wake()
        await wait_delivered(runtime)
    await world.adviser.collect(world.room_id, 15)
    assert len(world.adviser.texts) == 1
    await stranger.close()


async def test_only_cross_signed_devices_of_the_adviser_get_the_room_key(world: World):
    laptop = await world.adviser_device("Anna's old laptop")
    async with open_runtime(world.config()) as runtime:
        await Person(runtime, "employee").full_intake(description=f"for Anna {CANARY}")
        await wait_delivered(runtime)
    await world.adviser.until_seen(
        world.room_id, lambda a: any(CANARY in t["body"] for t in a.texts), 15
    )

    def told_why(device: MatrixPerson) -> bool:
        """The handoff (the bot's first message) it cannot read, and the notice of why."""
        sent = [e.session_id for e in device.undecryptable_events if e.sender == world.bot_id]
        told = {
            e["content"].get("session_id")
            for e in device.to_device
            if e["type"] == "m.room_key.withheld"
        }
        return bool(sent) and sent[0] in told

    await laptop.until_seen(world.room_id, told_why, 15)
    assert CANARY in world.adviser.texts[0]["body"]
    assert laptop.texts == []  # the handoff never decrypts there
    assert laptop.undecryptable >= 1
    notices = world.adviser.notices + laptop.notices
    assert any(laptop.client.device_id in n and "not verified" in n for n in notices), notices
    # And the laptop is told why, as the spec says, so Element does not wait for ever.
    [handoff] = [e for e in laptop.undecryptable_events if e.sender == world.bot_id][:1]
    withheld = [e for e in laptop.to_device if e["type"] == "m.room_key.withheld"]
    assert [(e["sender"], e["content"]["code"]) for e in withheld] == [
        (world.bot_id, "m.unverified")
    ]
    content = withheld[0]["content"]
    assert (content["room_id"], content["session_id"]) == (world.room_id, handoff.session_id)
    assert content["algorithm"] == "m.megolm.v1.aes-sha2"
    assert content["sender_key"] == handoff.sender_key and content["reason"]
    await laptop.close()


async def test_homeserver_down_and_bot_restarted_the_adviser_gets_it_exactly_once(world: World):
    world.synapse.stop()
    try:
        async with open_runtime(world.config()) as runtime:
            await Person(runtime, "employee").full_intake(description="while the server is down")
            await asyncio.sleep(1.0)
            assert await runtime.store.pending_count() == 1
        async with open_runtime(world.config()) as runtime:  # the bot restarted
            await asyncio.sleep(0.5)
            assert await runtime.store.pending_count() == 1
            world.synapse.start()
            await wait_delivered(runtime, 30)
    finally:
        if world.synapse.process is None:
            world.synapse.start()
    await world.adviser.collect(world.room_id, 15)
    await world.adviser.collect(world.room_id, 3, want=99)  # anything more would be a double
    assert [t["body"].count("while the server is down") for t in world.adviser.texts] == [1]


async def test_sent_but_not_recorded_before_a_crash_is_not_sent_twice(world: World):
    config = world.config()
    world.synapse.stop()
    try:
        async with open_runtime(config) as runtime:
            await Person(runtime, "employee").full_intake(description="sent once only")
            await asyncio.sleep(0.5)
    finally:
        world.synapse.start()
    # What a crash between sending and recording leaves: the message is in the room,
    # the outbox still says "pending".
    cipher = FieldCipher(load_or_create_keys(config.key_file))
    store = await SqliteStore.open(
        config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
    )
    [pending] = await store.due_handoffs(now=1e12, limit=10)
    await store.close()
    catalog = load_catalog(config.locales_dir, config.bot.default_language)
    sink = MatrixRoomSink(
        MatrixSession(config.matrix, config.bot.data_dir, cipher), config, lambda: catalog
    )
    handoff = OutgoingHandoff(pending.case_ref, pending.adviser_id, pending.payload)
    first = await sink.deliver(handoff)
    await sink.close()
    async with open_runtime(config) as runtime:  # restarted: the worker tries again
        await wait_delivered(runtime, 30)
        record = await runtime.store.delivered_handoff(pending.case_ref)
    assert record is not None and record.receipt == first  # the same event, in the room
    assert first.target == world.room_id
    await world.adviser.collect(world.room_id, 15)
    await world.adviser.collect(world.room_id, 3, want=99)
    assert [t["body"].count("sent once only") for t in world.adviser.texts] == [1]
    assert first.ref.startswith("$")


async def test_a_changed_adviser_identity_stops_delivery(world: World):
    async with open_runtime(world.config()) as runtime:
        await Person(runtime, "first").full_intake(description="before the change")
        await wait_delivered(runtime)  # the adviser's identity is now pinned
        await world.adviser.cross_sign()  # a new identity: lost keys, or someone else
        await Person(runtime, "second").full_intake(description=f"after {CANARY}")
        await asyncio.sleep(1.5)
        assert await runtime.store.pending_count() == 1
    await world.adviser.collect(world.room_id, 10)
    await world.adviser.collect(world.room_id, 2, want=99)
    bodies = [t["body"] for t in world.adviser.texts]
    assert len(bodies) == 1 and "before the change" in bodies[0]


async def test_the_bot_keeps_its_device_and_protects_its_store(world: World):
    config = world.config()
    devices = []
    for _ in range(2):
        async with open_runtime(config) as runtime:
            await Person(runtime, f"p{len(devices)}").full_intake()
            await wait_delivered(runtime)
            devices.append(runtime.sink.session.client.device_id)  # type: ignore[union-attr]
    assert devices[0] == devices[1]
    data = world.folder / "data"
    state = (data / "matrix-state.sealed").read_bytes()
    assert devices[0].encode() not in state  # sealed, not readable
    assert any((data / "matrix-store").iterdir())


async def test_a_lost_matrix_store_means_a_new_device_signed_by_the_same_identity(world: World):
    config = world.config()
    async with open_runtime(config) as runtime:
        await Person(runtime, "before").full_intake(description="first")
        await wait_delivered(runtime)
        first_device = runtime.sink.session.client.device_id  # type: ignore[union-attr]
    shutil.rmtree(world.folder / "data" / "matrix-store")
    async with open_runtime(config) as runtime:
        await Person(runtime, "after").full_intake(description="second")
        await wait_delivered(runtime)
        second_device = runtime.sink.session.client.device_id  # type: ignore[union-attr]
    assert second_device != first_device
    keys = await keys_seen_by_a_stranger(world)
    [(ssk_id, ssk_key)] = keys["self_signing_keys"][world.bot_id]["keys"].items()
    _verify(keys["device_keys"][world.bot_id][second_device], world.bot_id, ssk_id, ssk_key)
    await world.adviser.until_seen(
        world.room_id,
        lambda a: all(any(word in t["body"] for t in a.texts) for word in ("first", "second")),
        15,
    )
    assert ["first" in t["body"] or "second" in t["body"] for t in world.adviser.texts] == [
        True,
        True,
    ]


async def test_a_revoked_login_is_renewed_and_the_handoff_still_arrives(world: World):
    async with open_runtime(world.config()) as runtime:
        await Person(runtime, "before").full_intake(description="before the logout")
        await wait_delivered(runtime)
        session = runtime.sink.session  # type: ignore[union-attr]
        # An admin (or a password change) ends the bot's session on the server.
        world.synapse.request(
            "POST", "/_matrix/client/v3/logout", {}, token=session.client.access_token
        )
        await Person(runtime, "after").full_intake(description="after the logout")
        await wait_delivered(runtime, 30)
    await world.adviser.until_seen(
        world.room_id, lambda a: any("after the logout" in t["body"] for t in a.texts), 15
    )
    bodies = " ".join(t["body"] for t in world.adviser.texts)
    assert "before the logout" in bodies and "after the logout" in bodies
