"""A direct chat with the bureau's Matrix account learns its organisation (by the code
on the poster) before anything personal is asked; against a real Synapse."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot.bureau_channels import serve_bureau
from bot.config import load_config
from bot.organisations.lifecycle import add_organisation
from bot.runtime.bureau import Bureau, open_bureau
from bot.texts.catalog import Texts
from tests.matrix_world import World
from tests.test_matrix_dm import Employee

BUREAU_NAME = "Bureau Veilig Werk"


@contextlib.asynccontextmanager
async def bureau_serving(config_file: Path) -> AsyncIterator[Bureau]:
    """`vertrouwd run` for the bureau in this process, stopped as on SIGTERM."""
    config = load_config(config_file, environ={})
    stopping = asyncio.Event()
    async with open_bureau(config, config_file) as bureau:
        task = asyncio.create_task(serve_bureau(bureau, stopping))
        session = bureau.shared.matrix_session
        assert session is not None
        for _ in range(400):
            if session.ready or task.done():
                break
            await asyncio.sleep(0.05)
        assert session.ready, "the bot did not log in"
        try:
            yield bureau
        finally:
            stopping.set()
            await task


async def test_a_direct_chat_learns_its_organisation_by_code_before_anything_personal(
    world: World, nl: Texts
):
    config_file = world.folder / "config.toml"
    config_file.write_text(
        world.config_text().replace('sink = "matrix"', 'sink = "local"')
        + f'[bureau]\nenabled = true\nname = "{BUREAU_NAME}"\n[matrix_dm]\nenabled = true\n'
    )
    config = load_config(config_file, environ={})
    codes = {
        organisation_id: add_organisation(config, organisation_id, name).entry.code
        for organisation_id, name in (("acme", "Acme BV"), ("beta", "Beta Zorg"))
    }
    employee = Employee(await world.stranger("employee"))
    intro = nl("intro.text", organisation="Acme BV")[:40]
    async with bureau_serving(config_file) as bureau:
        room_id = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(room_id, world.bot_id, "join")
        [hello] = await employee.say(room_id, "hoi")
        assert hello["body"].startswith(nl("bureau.chooser.intro", bureau=BUREAU_NAME)[:60])
        assert hello["body"].endswith(nl("bureau.chooser.ask"))
        [confirm] = await employee.say(room_id, codes["acme"].lower())
        assert confirm["body"].startswith(nl("bureau.chooser.confirm", organisation="Acme BV"))
        answered = await employee.say(
            room_id, "1", until=lambda texts: any(intro in t["body"] for t in texts)
        )
        bodies = "\n".join(t["body"] for t in answered)
        assert nl("bureau.chooser.linked", organisation="Acme BV") in bodies
        # Acme's own menu, in Acme's conversation: the person is Acme's now.
        [menu] = await employee.say(room_id, "1")  # contact the adviser: the consent
        assert nl("consent.intro") in menu["body"]
        acme = bureau.runtimes["acme"]
        user = acme.engine.user_key("matrix", employee.person.user_id)
        assert await acme.engine.conversation_state(user) is not None
        beta = bureau.runtimes["beta"]
        assert not await beta.engine.knows("matrix", employee.person.user_id)
    await employee.person.close()
