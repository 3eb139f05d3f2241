"""The admin edits texts from the admin room, against the throwaway Synapse."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tomllib

import pytest
from nio import RoomCreateResponse, RoomPreset, RoomSendResponse

from bot.commands.doctor import run_checks
from bot.config import Config, load_config
from bot.texts.catalog import Texts
from tests.conftest import LOCALES, Person, with_bot_settings
from tests.matrix_people import MatrixPerson
from tests.matrix_serving import ENCRYPTION, serving
from tests.matrix_world import World


class Member:
    """Someone in the admin room, writing commands and reading the bot's notices."""

    def __init__(self, person: MatrixPerson, room_id: str) -> None:
        self.person = person
        self.room_id = room_id

    async def command(self, text: str, seconds: float = 20) -> str:
        client = self.person.client
        before = len(self.person.notices)
        await client.sync(timeout=0)
        if client.should_query_keys:
            await client.keys_query()
        response = await client.room_send(
            self.room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        )
        assert isinstance(response, RoomSendResponse), response
        for _ in range(int(seconds * 2)):
            await self.person.collect(self.room_id, 0.5)
            if len(self.person.notices) > before:
                return self.person.notices[-1]
        raise AssertionError(f"no answer to {text!r}")


async def admin_room(world: World, admin: MatrixPerson, *others: str) -> str:
    response = await admin.client.room_create(
        preset=RoomPreset.private_chat,
        invite=[world.bot_id, *others],
        initial_state=[ENCRYPTION],
        name="vertrouwd admin",
    )
    assert isinstance(response, RoomCreateResponse), response
    return response.room_id


def admin_config(world: World, admin_id: str, room_id: str) -> Config:
    locales = world.folder / "locales"
    shutil.copytree(LOCALES, locales)
    path = world.folder / "config.toml"
    path.write_text(
        world.config_text() + f'[admin]\nusers = ["{admin_id}"]\nroom_id = "{room_id}"\n'
    )
    config = load_config(path, environ={})
    return with_bot_settings(config, locales_dir=locales, texts_reload_seconds=0.2)


async def joined(member: MatrixPerson, room_id: str, user_id: str) -> None:
    for _ in range(100):
        await member.client.sync(timeout=200)
        room = member.client.rooms.get(room_id)
        if room is not None and user_id in room.users and user_id not in room.invited_users:
            return
    raise AssertionError(f"{user_id} did not join")


async def test_an_admin_changes_a_text_from_the_room_and_the_next_message_shows_it(
    world: World, en: Texts, caplog: pytest.LogCaptureFixture
):
    admin = await world.stranger("admin")
    await admin.cross_sign()  # an admin's commands count from a verified session only
    visitor = await world.stranger("visitor")
    room_id = await admin_room(world, admin, visitor.user_id)
    config = admin_config(world, admin.user_id, room_id)
    async with serving(config) as runtime:
        await joined(admin, room_id, world.bot_id)
        await visitor.join(room_id)
        boss = Member(admin, room_id)
        employee = Person(runtime, "employee")
        await employee.say("hi")
        assert employee.question.text == en("menu.prompt")

        assert (await boss.command("keys menu.pro")).split("\n") == ["menu.prompt"]
        shown = await boss.command("show menu.prompt")
        assert shown == f"[en]\n{en('menu.prompt')}\n\n[nl]\nWat wil je doen?"
        preview = await boss.command("!preview intro.text en")
        assert preview == en("intro.text", organisation="Stichting Voorbeeld")
        assert (await boss.command("set menu.prompt")).startswith("Gebruik het zo: set KEY")

        answer = await boss.command("set menu.prompt en How can I help you today?")
        assert answer.startswith("Opgeslagen als wijziging 1: menu.prompt in en.")
        await employee.say("/menu")
        assert employee.question.text == "How can I help you today?"
        on_disk = (config.locales_dir / "en.toml").read_text()
        assert on_disk.startswith((LOCALES / "en.toml").read_text().split("\n", 1)[0])  # comment
        assert tomllib.loads(on_disk)["menu"]["prompt"] == "How can I help you today?"

        caplog.set_level(logging.INFO)
        refused = await Member(visitor, room_id).command("set menu.prompt en Hacked")
        assert refused == runtime.catalog.texts("nl")("admin.not_allowed")
        assert runtime.catalog.texts("en")("menu.prompt") == "How can I help you today?"
        assert "Hacked" not in caplog.text

        wrong = await boss.command("set sent.text en Sent. Your number: {number}")
        assert "en.toml: sent.text: placeholders differ" in wrong
        assert "{case_ref}" in runtime.catalog.texts("en")("sent.text")

        history = await boss.command("history menu.prompt")
        assert "Wijziging 1" in history and admin.user_id in history
        assert "+ How can I help you today?" in history
        assert await boss.command("revert 1") == runtime.catalog.texts("nl")(
            "admin.reverted", change="1"
        )
        await employee.say("/menu")
        assert employee.question.text == en("menu.prompt")

        checks = {c.name: c for c in await run_checks(config)}
        assert checks["admin room"].ok, checks["admin room"]
        status = await boss.command("status")
        assert "Aanvragen die wachten op aflevering: 0" in status
        nl = runtime.catalog.texts("nl")
        assert nl("admin.status_lines", open=0, waiting=0) in status
        assert "room of anna: ok" in status

        good = (config.locales_dir / "en.toml").read_text()
        (config.locales_dir / "en.toml").write_text("[menu\n")  # broken on disk
        for _ in range(40):
            await admin.collect(room_id, 0.5)
            if any("en.toml: not valid TOML" in n for n in admin.notices):
                break
        else:
            raise AssertionError("the admin room was not told about the broken file")
        assert admin.notices[-1].startswith(runtime.catalog.texts("nl")("admin.files_refused"))
        assert runtime.catalog.texts("en")("menu.prompt") == en("menu.prompt")
        await employee.say("/menu")  # the bot keeps serving, with the texts it had
        assert employee.question.text == en("menu.prompt")

        fixed = good.replace(en("menu.prompt"), "What shall we do?")
        (config.locales_dir / "en.toml").write_text(fixed)
        for _ in range(50):
            if runtime.catalog.texts("en")("menu.prompt") == "What shall we do?":
                break
            await asyncio.sleep(0.1)
        await employee.say("/menu")
        assert employee.question.text == "What shall we do?"
    for member in (admin, visitor):
        await member.close()
