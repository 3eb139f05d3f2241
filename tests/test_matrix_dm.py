"""Employees in Matrix direct chats, against a real Synapse, with real end-to-end encryption."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from nio import RoomCreateResponse, RoomPreset, RoomSendResponse

from bot.commands.doctor import run_checks
from bot.config import Config, load_config
from bot.texts.catalog import Texts
from tests.matrix_people import MatrixPerson
from tests.matrix_serving import ENCRYPTION, serving
from tests.matrix_world import World

CANARY = "PangolinCanary8812"


def dm_config(world: World) -> Config:
    path = world.folder / "config.toml"
    path.write_text(world.config_text() + "[matrix_dm]\nenabled = true\n")
    return load_config(path, environ={})


class Employee:
    def __init__(self, person: MatrixPerson) -> None:
        self.person = person
        self.client = person.client

    async def open_direct_chat(
        self,
        bot_id: str,
        *,
        encrypted: bool = True,
        direct: bool = True,
        preset: RoomPreset = RoomPreset.trusted_private_chat,
    ) -> str:
        response = await self.client.room_create(
            is_direct=direct,
            invite=[bot_id],
            preset=preset,
            initial_state=[ENCRYPTION] if encrypted else [],
        )
        assert isinstance(response, RoomCreateResponse), response
        return response.room_id

    async def wait_for_member(
        self, room_id: str, user_id: str, membership: str, seconds: float = 20
    ) -> None:
        for _ in range(int(seconds * 10)):
            await self.client.sync(timeout=100)
            room = self.client.rooms.get(room_id)
            joined = (
                room is not None and user_id in room.users and user_id not in room.invited_users
            )
            if (membership == "join" and joined) or (
                membership == "leave" and room is not None and user_id not in room.users
            ):
                return
        raise AssertionError(f"{user_id} never got membership {membership}")

    async def say(
        self,
        room_id: str,
        text: str,
        seconds: float = 20,
        until: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Send ``text`` encrypted and return the bot's answer, as the app shows it: its
        first message, or (given ``until``) every message until ``until`` holds of them."""
        return await self.send(room_id, {"msgtype": "m.text", "body": text}, seconds, until)

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        seconds: float = 20,
        until: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        before = len(self.person.texts)
        await self.client.sync(timeout=0)
        if self.client.should_query_keys:
            await self.client.keys_query()
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        answered = None if until is None else lambda: until(self.person.texts[before:])
        await self.person.collect(room_id, seconds, want=before + 1, until=answered)
        assert len(self.person.texts) > before, f"no answer to {content['body']!r}"
        return self.person.texts[before:]


async def test_an_intake_in_an_encrypted_direct_chat_reaches_the_adviser(
    world: World, nl: Texts, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    employee = Employee(await world.stranger("employee"))
    config = dm_config(world)
    async with serving(config) as runtime:
        caplog.clear()  # the employee's own login, before the bot capped the libraries' logs
        room_id = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(room_id, world.bot_id, "join")
        [intro] = await employee.say(room_id, "hoi")
        assert intro["body"].startswith(nl("intro.text", organisation="Stichting Voorbeeld")[:30])
        assert intro["body"].endswith(
            f"1. {nl('menu.intake')}\n2. {nl('menu.help_now')}"
            f"\n3. {nl('menu.about')}\n4. {nl('menu.language')}"
            f"\n5. {nl('menu.delete')}"
        )
        assert f"<li>{nl('menu.intake')}</li>" in intro["formatted_body"]
        for answer in ("1", "1", "2", "1"):  # contact the adviser, agree, not in danger, bullying
            await employee.say(room_id, answer)
        await employee.say(room_id, f"Mijn <b>chef</b> & {CANARY}")
        await employee.say(room_id, "Robin")
        await employee.say(room_id, "3")  # e-mail
        await employee.say(room_id, "robin@example.nl")
        await employee.say(room_id, "1")  # a message at that address is safe
        await employee.say(room_id, "1")  # mornings
        [review] = await employee.say(room_id, "1")  # today
        assert f"Mijn <b>chef</b> & {CANARY}" in review["body"]
        assert f"Mijn &lt;b&gt;chef&lt;/b&gt; &amp; {CANARY}" in review["formatted_body"]
        [sent] = await employee.say(room_id, "1")  # send
        await world.adviser.collect(world.room_id, 20)
        user = runtime.engine._keyer("matrix", employee.person.user_id)  # the bot's keyed hash
        record = await runtime.store.load_conversation(user)
        assert record is not None and record.data["reply_to"] == room_id
    [handoff] = world.adviser.texts
    assert f"Mijn <b>chef</b> & {CANARY}" in handoff["body"]
    case_ref = handoff["body"].split("Case number: ")[1].split()[0]
    assert case_ref in sent["body"]
    assert all(event.decrypted for event in employee.person.text_events)
    files = [p for p in config.bot.data_dir.rglob("*") if p.is_file()]
    assert CANARY.encode() not in b"".join(p.read_bytes() for p in files)
    # The bot's own files hold the person only as a keyed hash. (matrix-nio's crypto
    # store knows the person's devices by Matrix id, as every Matrix client must.)
    own = b"".join(p.read_bytes() for p in files if "matrix-store" not in p.parts)
    assert employee.person.user_id.split(":")[0].encode() not in own
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "step on matrix" in logged
    assert "more new messages than one sync holds" not in logged  # a fresh chat has none
    assert employee.person.user_id not in logged and CANARY not in logged
    await employee.person.close()


async def test_group_invites_and_other_homeservers_are_declined(world: World):
    employee = Employee(await world.stranger("employee"))
    async with serving(dm_config(world)):
        group = await employee.open_direct_chat(world.bot_id, direct=False)
        await employee.wait_for_member(group, world.bot_id, "leave")
    path = world.folder / "config.toml"
    path.write_text(
        world.config_text() + "[matrix_dm]\nenabled = true\nallowed_homeservers = ['example.org']\n"
    )
    async with serving(load_config(path, environ={})):
        direct = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(direct, world.bot_id, "leave")
    await employee.person.close()


async def test_an_unencrypted_direct_chat_is_encrypted_before_anything_is_asked(
    world: World, nl: Texts
):
    employee = Employee(await world.stranger("employee"))
    async with serving(dm_config(world)):
        room_id = await employee.open_direct_chat(world.bot_id, encrypted=False)
        await employee.wait_for_member(room_id, world.bot_id, "join")
        intro = nl("intro.text", organisation="Stichting Voorbeeld")[:30]
        await employee.person.until_seen(
            room_id, lambda p: any(e.body.startswith(intro) for e in p.text_events), 20
        )
        first, second = employee.person.text_events[:2]
        assert first.body == nl("channel.encryption_on")
        assert second.body.startswith(nl("intro.text", organisation="Stichting Voorbeeld")[:30])
        assert first.decrypted and second.decrypted
    assert employee.client.rooms[room_id].encrypted
    await employee.person.close()


async def test_where_encryption_cannot_be_turned_on_nothing_personal_is_asked(
    world: World, nl: Texts
):
    employee = Employee(await world.stranger("employee"))
    async with serving(dm_config(world)):
        # A private chat gives the invited bot no right to change the room's settings.
        room_id = await employee.open_direct_chat(
            world.bot_id, encrypted=False, preset=RoomPreset.private_chat
        )
        await employee.person.collect(room_id, 20)
        await employee.wait_for_member(room_id, world.bot_id, "leave")
    assert [e.body for e in employee.person.text_events] == [nl("channel.unencrypted")]
    await employee.person.close()


async def test_a_restart_mid_intake_resumes_at_the_same_question(world: World, nl: Texts):
    employee = Employee(await world.stranger("employee"))
    config = dm_config(world)
    async with serving(config):
        room_id = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(room_id, world.bot_id, "join")
        await employee.say(room_id, "hoi")
        await employee.say(room_id, "1")
        [danger] = await employee.say(room_id, "1")  # agree
        assert danger["body"].startswith(nl("danger.prompt"))
    # Written while the bot is down: handled once it is back, exactly once, even after an
    # admin ran `vertrouwd doctor` (which syncs on the bot's device) in between.
    await employee.client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "2"},
        ignore_unverified_devices=True,
    )
    assert all(check.ok for check in await run_checks(config))
    async with serving(config):
        topic_prompt = nl("topic.prompt")
        await employee.person.until_seen(
            room_id, lambda p: any(t["body"].startswith(topic_prompt) for t in p.texts), 20
        )
        topic = employee.person.texts[-1]
        assert topic["body"].startswith(nl("topic.prompt"))
        [description] = await employee.say(room_id, "1")
        assert description["body"].startswith(nl("description.prompt", max=1000)[:40])
    await employee.person.close()


async def test_media_and_edits_get_a_calm_answer_and_change_nothing(
    world: World, nl: Texts, caplog: pytest.LogCaptureFixture
):
    employee = Employee(await world.stranger("employee"))
    async with serving(dm_config(world)):
        room_id = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(room_id, world.bot_id, "join")
        await employee.say(room_id, "hoi")
        [consent] = await employee.say(room_id, "1")
        caplog.set_level(logging.DEBUG)
        # As clients send them in encrypted rooms, and one that nio cannot parse.
        encrypted_file = {
            "url": "mxc://localhost/abc",
            "key": {"kty": "oct", "alg": "A256CTR", "k": "qcHVMSgYg-71CauWBezXI5qkaRb0LuIy-Wx5k"},
            "iv": "X85+XgHN+HEAAAAAAAAAAA",
            "hashes": {"sha256": "5qG4fFnbbVdlAB1Q72JDKwCagV6Dbkx9uds4rSak37c"},
            "v": "v2",
        }
        for image in (
            {"msgtype": "m.image", "body": f"{CANARY}.jpg", "file": encrypted_file},
            {"msgtype": "m.image", "body": f"{CANARY}.jpg", "url": "mxc://localhost/abc"},
        ):
            [answer] = await employee.send(room_id, image)
            assert answer["body"].startswith(nl("input.unsupported"))
            assert answer["body"].endswith(consent["body"].split("\n\n")[-1])  # asked again
        assert CANARY not in "\n".join(r.getMessage() for r in caplog.records)
        typed = await employee.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": "2"},
            ignore_unverified_devices=True,
        )
        before = len(employee.person.texts)
        await employee.person.until_seen(room_id, lambda p: len(p.texts) > before, 20)
        edit = {
            "msgtype": "m.text",
            "body": "* 1",
            "m.new_content": {"msgtype": "m.text", "body": "1"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": typed.event_id},
        }
        [answer] = await employee.send(room_id, edit)
        assert answer["body"] == nl("channel.edit_ignored")
    await employee.person.close()


async def test_the_line_runs_both_ways_between_a_direct_chat_and_the_case_thread(
    world: World, nl: Texts, en: Texts
):
    employee = Employee(await world.stranger("employee"))
    adviser, room = world.adviser, world.room_id
    async with serving(dm_config(world)):
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        await employee.say(dm, "hoi")
        # contact the adviser, agree, not in danger, bullying, description, name,
        # via this chat, mornings, today, send
        for answer in ("1", "1", "2", "1", "Het gebeurt elke week", "Sam", "1", "1", "1"):
            await employee.say(dm, answer)
        [sent] = await employee.say(dm, "1")
        await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
        root = adviser.text_events[0].event_id
        match = re.search(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b", sent["body"])
        assert match is not None, sent["body"]
        case_ref = match.group()
        assert nl("menu.line_open", case_ref=case_ref) in sent["body"]

        [queued] = await employee.say(dm, "Gisteren weer")
        assert queued["body"] == nl("line.queued")
        from_sam = en(
            "thread.from_employee", case_ref=case_ref, pseudonym="Sam", text="Gisteren weer"
        )
        await adviser.until_seen(room, lambda a: from_sam in [e.body for e in a.text_events])
        reply = next(e for e in adviser.text_events if e.body == from_sam)
        relation = reply.source["content"]["m.relates_to"]
        assert (relation["rel_type"], relation["event_id"]) == ("m.thread", root)
        assert employee.person.user_id not in str([e.source for e in adviser.text_events])

        before = len(employee.person.texts)
        await adviser.send_text(room, "Zullen we dinsdag bellen?", thread_root=root)
        relayed_text = nl(
            "line.from_adviser", adviser="Anna", case_ref=case_ref, text="Zullen we dinsdag bellen?"
        )
        await employee.person.until_seen(
            dm, lambda p: any(t["body"] == relayed_text for t in p.texts[before:]), 30
        )
        [relayed] = employee.person.texts[before:]
        assert relayed["body"] == relayed_text
