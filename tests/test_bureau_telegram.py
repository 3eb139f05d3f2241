"""The bureau's own Telegram bot: a code first, then the organisation. Two organisations
side by side on one bot, against the local fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.bureau_channels import bureau_channels
from bot.channels import serve_channels
from bot.config import Config, load_config
from bot.organisations.bureau_bot import BureauBot
from bot.organisations.lifecycle import add_organisation, suspend_organisation
from bot.runtime.bureau import Bureau, open_bureau
from bot.store.organisation_links import LINKS_FILE
from bot.texts.catalog import Texts
from tests.conftest import run_cli, write_config
from tests.fake_telegram import FakeTelegram, Person
from tests.telegram_harness import Chat, telegram_section, until

BUREAU_NAME = "Bureau Veilig Werk"


@dataclass
class RunningBureau:
    bureau: Bureau
    bot: BureauBot

    def idle(self) -> bool:
        assert self.bot.telegram is not None
        app = self.bot.telegram.app
        return app.update_processor.current_concurrent_updates == 0 and app.update_queue.empty()


def bureau_file(tmp_path: Path, fake: FakeTelegram) -> Path:
    bureau = f'[bureau]\nenabled = true\nname = "{BUREAU_NAME}"\n'
    return write_config(tmp_path, bureau + telegram_section(tmp_path, fake, ""))


@contextlib.asynccontextmanager
async def running_bureau(config_file: Path) -> AsyncIterator[RunningBureau]:
    """``vertrouwd run`` for the bureau, in this process; stopped as on SIGTERM."""
    config = load_config(config_file, environ={})
    stopping = asyncio.Event()
    async with open_bureau(config, config_file) as bureau:
        channels = bureau_channels(bureau)
        bot = next(c for c in channels if isinstance(c, BureauBot))
        task = asyncio.create_task(serve_channels(channels, stopping))
        try:
            telegram = bot.telegram
            assert telegram is not None
            await until(lambda: telegram.app.updater is not None and telegram.app.updater.running)
            yield RunningBureau(bureau, bot)
        finally:
            stopping.set()
            await task


@dataclass
class World:
    config_file: Path
    config: Config
    codes: dict[str, str]  # organisation id -> its code


@pytest.fixture
def world(tmp_path: Path, fake: FakeTelegram) -> World:
    config_file = bureau_file(tmp_path, fake)
    config = load_config(config_file, environ={})
    codes = {
        organisation_id: add_organisation(config, organisation_id, name).entry.code
        for organisation_id, name in (("acme", "Acme BV"), ("beta", "Beta Zorg"))
    }
    return World(config_file, config, codes)


def folder(world: World, organisation_id: str) -> Path:
    return world.config.organisations_dir / organisation_id


def files_holding(root: Path, canary: str) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and canary.encode() in path.read_bytes()
    ]


async def link(chat: Chat, code: str, en: Texts, organisation: str) -> None:
    """Give the code and confirm the organisation it names."""
    await chat.say(code)
    assert chat.texts() == [en("bureau.chooser.confirm", organisation=organisation)]
    assert chat.choice_ids() == ["yes", "no"]
    await chat.press("yes")


async def test_a_code_links_a_person_who_then_sends_a_request_to_that_organisation_only(
    fake: FakeTelegram, world: World, en: Texts, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    canary = "CANARY-kx81 my manager shouts"
    person = Person(7_100_001, "Robin", language_code="en")
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, person)
        await chat.say("/start")
        # The bureau's bot says whose it is, that it is a bot, and asks for the code.
        assert chat.texts()[0].startswith(en("bureau.chooser.intro", bureau=BUREAU_NAME)[:60])
        assert en("bureau.chooser.ask") in chat.texts()[-1]
        await link(chat, world.codes["acme"], en, "Acme BV")
        # Linked: Acme's own introduction follows, with Acme's name.
        joined = "\n".join(chat.texts())
        assert en("bureau.chooser.linked", organisation="Acme BV") in joined
        assert en("intro.text", organisation="Acme BV")[:60] in joined
        await chat.press("intake")
        await chat.press("agree")
        await chat.press("adviser-a")
        await chat.press("no")
        await chat.press("bullying")
        await chat.say(canary)
        await chat.say("Robin")
        await chat.press("chat")
        await chat.press("evenings")
        await chat.press("this_week")
        await chat.press("send")
        acme = running.bureau.runtimes["acme"]
        items = await until_items(acme)
        assert items[0].payload["answers"]["description"] == canary
        assert await running.bureau.runtimes["beta"].inbox.items(None) == []
    # Nothing of it under the other organisation's folder, nor in the bureau's own
    # files (the link is sealed), nor in any log line: not the words, not the person's
    # id, not the code they typed, not which organisation they are with.
    assert files_holding(folder(world, "beta"), "CANARY-kx81") == []
    assert files_holding(world.config.bot.data_dir / LINKS_FILE, "acme") == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("CANARY-kx81", str(person.id), world.codes["acme"], "Acme BV"):
        assert secret not in logged


async def until_items(runtime) -> list:  # type: ignore[no-untyped-def,type-arg]
    for _ in range(1000):
        items = await runtime.inbox.items(None)
        if items:
            return items  # type: ignore[no-any-return]
        await asyncio.sleep(0.01)
    raise AssertionError("the handoff never reached the inbox")
