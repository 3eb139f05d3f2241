"""The bureau's own Telegram bot: a code first, then the organisation. Two organisations
side by side on one bot, against the local fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import xml.etree.ElementTree as ET
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
        path for path in root.rglob("*") if path.is_file() and canary.encode() in path.read_bytes()
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
        # The adviser's answer comes back through the bureau's bot.
        case = await acme.store.case(items[0].payload["case_ref"])
        adviser = acme.config.adviser("adviser-a")
        await acme.desk.in_thread(case, adviser, "$answer-1", "Shall we talk on Monday?")
        await until(
            lambda: any("Shall we talk on Monday?" in m["text"] for m in chat.messages()), 20
        )
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


async def test_unknown_suspended_and_removed_codes_get_one_same_answer(
    fake: FakeTelegram, world: World, en: Texts, tmp_path: Path
):
    config = world.config
    suspended = add_organisation(config, "gamma", "Gamma Bouw").entry.code
    suspend_organisation(config, "gamma")
    removed = add_organisation(config, "delta", "Delta Transport").entry.code
    assert (
        run_cli(["org", "remove", "delta", "--yes", "--config", str(world.config_file)]).returncode
        == 0
    )
    unknown = next(c for c in ("KKKKKK", "MMMMMM", "PPPPPP") if c not in world.codes.values())
    answers = []
    async with running_bureau(world.config_file) as running:
        for n, code in enumerate((unknown, suspended, removed, unknown.lower())):
            chat = Chat(fake, running, Person(7_200_000 + n, "Sam", language_code="en"))
            await chat.say("/start")
            await chat.say(code)
            answers.append(chat.texts())
        assert answers == [[en("bureau.chooser.unknown")]] * 4
        # A few wrong codes in a row, then the bot asks to wait, and does not look at
        # the code typed meanwhile, even the right one.
        chat = Chat(fake, running, Person(7_200_100, "Kim", language_code="en"))
        for _ in range(3):
            await chat.say(unknown)
            assert chat.texts() == [en("bureau.chooser.unknown")]
        await chat.say(world.codes["beta"])
        assert chat.texts() == [en("bureau.chooser.wait")]


async def test_danger_instead_of_a_code_gets_the_routes_first_and_then_the_question(
    fake: FakeTelegram, world: World, nl: Texts
):
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, Person(7_300_001, "Noor", language_code="nl"))
        await chat.say("/start")
        await chat.say("ik zie het niet meer zitten")
        text = "\n\n".join(chat.texts())
        assert text.startswith(nl("emergency.title"))
        assert "113" in text
        assert nl("bureau.chooser.danger") in text
        assert text.endswith(nl("bureau.chooser.ask"))
        assert nl("bureau.chooser.unknown") not in text
        # One word that has the shape of a code is heard all the same.
        await chat.say("zelfmoord")
        text = "\n\n".join(chat.texts())
        assert text.startswith(nl("emergency.title"))
        assert nl("bureau.chooser.unknown") not in text
        # Also while the organisation waits to be confirmed.
        await chat.say(world.codes["beta"])
        await chat.say("hij bedreigt me, ik ben niet veilig")
        text = "\n\n".join(chat.texts())
        assert text.startswith(nl("emergency.title"))
        assert chat.choice_ids() == ["yes", "no"]


async def test_a_link_survives_a_restart_and_a_word_starts_over(
    fake: FakeTelegram, world: World, en: Texts
):
    person = Person(7_400_001, "Alex", language_code="en")
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, person)
        await chat.say("/start")
        await link(chat, world.codes["beta"], en, "Beta Zorg")
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, person)
        await chat.say("menu")
        assert chat.texts() == [en("menu.prompt")]  # Beta's menu, no code asked
        await chat.say("organisation")
        assert chat.texts() == [en("bureau.chooser.ask")]
        await chat.say("menu")
        assert chat.texts() == [en("bureau.chooser.ask")]


async def test_delete_before_linking_forgets_the_organisation_named(
    fake: FakeTelegram, world: World, en: Texts
):
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, Person(7_500_001, "Jo", language_code="en"))
        await chat.say(world.codes["acme"])
        assert chat.choice_ids() == ["yes", "no"]
        await chat.say("/delete")
        assert chat.texts() == [en("bureau.chooser.forgotten")]
        await chat.say("yes")
        assert en("bureau.chooser.linked", organisation="Acme BV") not in chat.texts()


async def test_removing_one_organisation_leaves_the_other_ones_people_served(
    fake: FakeTelegram, world: World, en: Texts
):
    a_person = Person(7_600_001, "Ana", language_code="en")
    b_person = Person(7_600_002, "Bo", language_code="en")
    async with running_bureau(world.config_file) as running:
        a_chat, b_chat = Chat(fake, running, a_person), Chat(fake, running, b_person)
        await link(a_chat, world.codes["acme"], en, "Acme BV")
        await link(b_chat, world.codes["beta"], en, "Beta Zorg")
        cli = ["--config", str(world.config_file)]
        assert run_cli(["org", "suspend", "acme", *cli]).returncode == 0
        await running.bureau.reconcile()
        assert "acme" not in running.bureau.runtimes
        removed = run_cli(["org", "remove", "acme", "--yes", *cli])
        assert removed.returncode == 0, removed.stderr
        assert "which 1 person(s) on the bureau's own bot chose it" in removed.stdout
        links = world.config.bot.data_dir / LINKS_FILE
        with contextlib.closing(sqlite3.connect(links)) as db:
            assert db.execute("SELECT count(*) FROM links").fetchone() == (1,)  # Bo's only
        await b_chat.say("menu")
        assert b_chat.texts() == [en("menu.prompt")]
        # Acme's person is a stranger again; Acme's code opens nothing any more.
        await a_chat.say("menu")
        assert en("bureau.chooser.ask") in a_chat.texts()[-1]
        await a_chat.say(world.codes["acme"])
        assert a_chat.texts() == [en("bureau.chooser.unknown")]


async def test_an_organisation_with_its_own_bot_is_served_there_without_a_code(
    fake: FakeTelegram, world: World, en: Texts
):
    own = FakeTelegram(token="654321:OWN-token")
    fake.other_bots[own.token] = own  # Telegram's address is the bureau's setting
    root = folder(world, "beta")
    (root / "own.token").write_text(own.token + "\n")
    (root / "own.token").chmod(0o600)
    with (root / "organisation.toml").open("a") as file:
        file.write('\n[telegram]\nenabled = true\ntoken_file = "own.token"\n')
    async with running_bureau(world.config_file) as running:
        beta_bot = running.bureau.runtimes["beta"]
        assert beta_bot.config.telegram is not None
        person = Person(7_700_001, "Lou", language_code="en")
        chat = Chat(own, running, person)
        await until(lambda: own.calls and own.calls[-1][0] == "getUpdates", 20)
        await chat.say("/start")
        assert chat.texts()[0].startswith(en("intro.text", organisation="Beta Zorg")[:60])
        # Its code does not open it on the bureau's bot: the same answer as any.
        chat = Chat(fake, running, person)
        await chat.say(world.codes["beta"])
        assert chat.texts() == [en("bureau.chooser.unknown")]


def test_the_poster_of_an_organisation_carries_its_code_for_the_bureau_s_bot(
    world: World, nl: Texts, tmp_path: Path
):
    with world.config_file.open("a") as file:
        file.write('\n[web]\nenabled = true\npublic_url = "https://praat.bureau.example"\n')
    out = tmp_path / "acme.svg"
    result = run_cli(
        ["poster", "--org", "acme", "--config", str(world.config_file), "--out", str(out)]
    )
    assert result.returncode == 0, result.stderr
    words = " ".join(xml_text(out).split())
    line = nl("bureau.chooser.poster_telegram", code=world.codes["acme"], bureau=BUREAU_NAME)
    assert line in words
    assert world.codes["beta"] not in out.read_text()


def xml_text(path: Path) -> str:
    root = ET.fromstring(path.read_text())
    return " ".join(" ".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


async def test_delete_after_linking_erases_everything_and_the_link_with_it(
    fake: FakeTelegram, world: World, en: Texts
):
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, Person(7_800_001, "Sky", language_code="en"))
        await link(chat, world.codes["acme"], en, "Acme BV")
        acme = running.bureau.runtimes["acme"]
        assert await acme.engine.knows("telegram", "7800001")
        await chat.say("/delete")
        await chat.press("yes")
        assert not await acme.engine.knows("telegram", "7800001")
        await chat.say("hello")
        assert chat.texts()[0].startswith(en("bureau.chooser.intro", bureau=BUREAU_NAME)[:60])


async def test_the_bureau_s_own_backup_and_key_rotation_keep_every_link(
    fake: FakeTelegram, world: World, en: Texts, tmp_path: Path
):
    person = Person(7_400_009, "Kim", language_code="en")
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, person)
        await chat.say("/start")
        await link(chat, world.codes["acme"], en, "Acme BV")
    config = ["--config", str(world.config_file)]
    rotated = run_cli(["keys", "rotate", *config])
    assert rotated.returncode == 0, rotated.stderr
    assert "re-sealed 1 field(s)" in rotated.stdout  # the link
    backup = tmp_path / "bureau-backup"
    made = run_cli(["backup", str(backup), *config])
    assert made.returncode == 0, made.stderr
    assert (backup / LINKS_FILE).is_file()
    data = world.config.bot.data_dir
    (data / LINKS_FILE).unlink()  # lost: the backup brings it back
    restored = run_cli(["restore", str(backup), "--force", *config])
    assert restored.returncode == 0, restored.stderr
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, person)
        await chat.say("menu")
        assert chat.texts() == [en("menu.prompt")]  # still Acme's person, no code asked
    # Rotated again after the restore, the link is opened with the newest key.
    again = run_cli(["keys", "rotate", *config])
    assert again.returncode == 0, again.stderr
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, person)
        await chat.say("menu")
        assert chat.texts() == [en("menu.prompt")]


async def test_a_key_rotation_of_the_bureau_while_it_runs_keeps_every_link(
    fake: FakeTelegram, world: World, en: Texts
):
    person = Person(7_400_010, "Noor", language_code="en")
    async with running_bureau(world.config_file) as running:
        chat = Chat(fake, running, person)
        await chat.say("/start")
        await link(chat, world.codes["beta"], en, "Beta Zorg")
        # The rotation waits until a running bot has had the time to take up the new key.
        rotated = await asyncio.to_thread(
            run_cli, ["keys", "rotate", "--config", str(world.config_file)]
        )
        assert rotated.returncode == 0, rotated.stderr
        assert "re-sealed 1 field(s)" in rotated.stdout
        await chat.say("menu")
        assert chat.texts() == [en("menu.prompt")]  # still Beta's person, no code asked


async def test_the_bureau_s_own_edited_texts_are_taken_up_while_it_runs(
    fake: FakeTelegram, world: World, en: Texts
):
    edited = world.config_file.parent / "bureau-texts"
    edited.mkdir()
    text = world.config_file.read_text()
    world.config_file.write_text(
        text.replace("[bot]\n", '[bot]\ntexts_overrides_dir = "bureau-texts"\n', 1)
    )
    asked = "Which organisation do you work for? The code is on the poster in the canteen."
    async with running_bureau(world.config_file) as running:
        (edited / "en.toml").write_text(f'[bureau.chooser]\nask = "{asked}"\n')
        await until(lambda: running.bot.texts.current.texts("en")("bureau.chooser.ask") == asked)
        chat = Chat(fake, running, Person(7_400_011, "Sam", language_code="en"))
        await chat.say("/start")
        assert chat.texts()[-1].endswith(asked)
