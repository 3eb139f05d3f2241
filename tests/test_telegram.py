"""Employees on Telegram: the real python-telegram-bot against a local fake Bot API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.outgoing import compose, split_text, utf16_length
from bot.commands.doctor import run_checks
from bot.messages import Choice, Reply
from bot.texts.catalog import Texts
from tests.conftest import asked, run_cli, with_bot_settings, write_config
from tests.fake_telegram import FakeTelegram, Person
from tests.telegram_harness import (
    BotProcess,
    Chat,
    RunningBot,
    running_bot,
    telegram_config,
    telegram_config_file,
    until,
)


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeTelegram) -> AsyncIterator[RunningBot]:
    async with running_bot(telegram_config(tmp_path, fake)) as running:
        yield running


def keyboard(message: dict[str, object]) -> object:
    return message.get("reply_markup")


async def test_a_full_intake_with_buttons_and_typed_answers_reaches_the_adviser(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    chat = Chat(fake, bot, Person(5_551_001, "Robin", language_code="en"))
    await chat.say("/start")
    assert chat.texts()[0].startswith(en("intro.text", organisation="Stichting Voorbeeld")[:40])
    menu = chat.last_keyboard()
    await chat.press("intake")
    # The pressed keyboard is gone and the message shows what was chosen.
    assert keyboard(fake.messages[menu["message_id"]]) is None
    assert fake.messages[menu["message_id"]]["text"].endswith(
        en("channel.chosen", choice=en("menu.intake"))
    )
    assert chat.choice_ids() == ["agree", "disagree", "more"]
    # On Telegram, the consent says that Telegram can read chats with bots.
    assert any(en("consent.carrier_telegram") in text for text in chat.texts())
    await chat.press("agree")
    adviser_question = chat.new[-1]
    assert chat.choice_ids() == ["adviser-a", "adviser-b"]
    await chat.say("1")  # typed: the first adviser, by number
    danger_question = chat.new[-1]
    # The buttons of the question answered by typing no longer act: a press there is
    # answered gently, changes nothing, and takes those buttons away.
    await chat.press("adviser-b", message=adviser_question)
    assert chat.texts() == [f"{en('input.stale_choice')}\n\n{danger_question['text']}"]
    assert keyboard(fake.messages[adviser_question["message_id"]]) is None
    assert fake.messages[adviser_question["message_id"]]["text"] == adviser_question["text"]
    await chat.press("no")  # not in danger
    await chat.say("Bullying")  # typed: a choice by its label
    await chat.say("My manager <b>shouts</b> & mocks me")
    await chat.say("Robin")
    await chat.press("email")
    await chat.say("robin@example.nl")
    await chat.press("message_ok")
    await chat.press("evenings")
    await chat.press("this_week")
    review = chat.texts()[-1]
    assert "My manager <b>shouts</b> & mocks me" in review  # shown exactly as typed
    await chat.press("send")
    items = await until_items(bot)
    assert items[0].payload["case_ref"] in chat.texts()[0]
    assert items[0].payload["answers"]["description"] == "My manager <b>shouts</b> & mocks me"
    assert items[0].payload["channel"] == "telegram"
    # Every message went out as valid Telegram HTML (the fake refuses anything else).
    assert all(m["parse_mode"] == "HTML" for m in chat.messages())


async def until_items(bot: RunningBot) -> list:  # type: ignore[type-arg]
    async def delivered() -> list:  # type: ignore[type-arg]
        for _ in range(500):
            items = await bot.runtime.inbox.items(None)
            if items:
                return items
            await asyncio.sleep(0.01)
        raise AssertionError("the handoff never reached the inbox")

    return await delivered()


@pytest.mark.parametrize(
    ("code", "expected"), [("nl", "nl"), ("en-GB", "en"), ("de", "nl"), (None, "nl")]
)
async def test_the_language_comes_from_telegram_where_the_bot_speaks_it(
    fake: FakeTelegram, bot: RunningBot, catalog, code: str | None, expected: str
):
    chat = Chat(fake, bot, Person(5_551_002, "Sam", language_code=code))
    await chat.say("hallo")
    intro = catalog.texts(expected)("intro.text", organisation="Stichting Voorbeeld")
    assert chat.texts()[0].startswith(intro[:40])


async def test_the_command_menu_is_registered_in_every_language(
    fake: FakeTelegram, bot: RunningBot, en: Texts, nl: Texts
):
    assert set(fake.commands) == {"nl", "en", ""}
    assert {c["command"] for c in fake.commands["en"]} == {
        "start",
        "help",
        "menu",
        "language",
        "mydata",
        "cancel",
        "stop",
        "delete",
    }
    english = {c["command"]: c["description"] for c in fake.commands["en"]}
    assert english["delete"] == en("commands.delete")
    assert {c["description"] for c in fake.commands[""]} == {
        c["description"] for c in fake.commands["nl"]
    }


async def test_an_edited_command_description_reaches_the_menu(fake: FakeTelegram, bot: RunningBot):
    assert bot.runtime.editor is not None
    result = await bot.runtime.editor.set("@admin:x", "commands.delete", "en", "Erase all of it")
    assert result.ok
    english = {c["command"]: c["description"] for c in fake.commands["en"]}
    assert english["delete"] == "Erase all of it"


async def test_language_can_be_changed_with_the_command(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    chat = Chat(fake, bot, Person(5_551_003, "Kim", language_code="nl"))
    await chat.say("/language")
    await chat.press("en")
    assert chat.texts()[-1].endswith(en("menu.prompt"))


async def test_added_to_a_group_it_says_so_once_and_leaves(
    fake: FakeTelegram, bot: RunningBot, nl: Texts
):
    person = Person(5_551_004, "Jo", language_code="nl")
    fake.add_to_group(person, -100_777)
    await until(lambda: fake.left_chats)
    await until(bot.idle)
    said = fake.bot_messages_to(-100_777)
    assert [m["text"] for m in said] == [nl("channel.private_only")]
    assert fake.left_chats == [-100_777]


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "document", "location", "contact"])
async def test_media_gets_a_calm_reply_and_is_neither_downloaded_nor_stored(
    tmp_path: Path, fake: FakeTelegram, bot: RunningBot, en: Texts, kind: str
):
    person = Person(5_551_005, "Ali", language_code="en")
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    before = len(chat.messages())
    if kind == "photo":
        fake.send_photo(person)
    else:
        fake.send_media(person, kind)
    await until(lambda: len(chat.messages()) > before)
    await until(bot.idle)
    assert chat.messages()[-1]["text"].startswith(en("input.unsupported"))
    assert not [method for method, _ in fake.calls if method == "getFile"]
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert b"+31612345678" not in stored and b"52.37" not in stored


async def test_an_edited_message_does_not_run_a_step_again(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    person = Person(5_551_006, "Noor", language_code="en")
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    await chat.press("intake")
    await chat.say("2")  # typed: "disagree"
    refused = chat.texts()
    await chat._after(lambda: fake.edit(person, chat.last_sent, "1"))  # now it says "agree"
    assert chat.texts() == [en("channel.edit_ignored")]
    await chat.say("/menu")  # still where the refusal left it: the menu, no consent given
    assert refused[-1].endswith(en("menu.prompt"))
    assert chat.texts()[-1].endswith(en("menu.prompt"))


async def test_a_rate_limit_is_waited_out_and_the_reply_still_arrives(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    chat = Chat(fake, bot, Person(5_551_007, "Lou", language_code="en"))
    fake.throttled["sendMessage"] = 1
    await chat.say("hi")
    refused = [m for m, _ in fake.calls if m == "sendMessage"]
    assert len(refused) == 2  # the 429, then the retry after one second
    assert chat.texts()[-1].endswith(en("menu.prompt"))


async def test_a_button_of_an_earlier_question_gets_a_gentle_answer(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    chat = Chat(fake, bot, Person(5_551_008, "Eva", language_code="en"))
    await chat.say("hi")
    await chat.say("/delete")
    first_confirmation = dict(chat.new[-1])
    await chat.say("no")
    await chat.say("/delete")
    # The first confirmation's buttons were taken away; an old app may still show them.
    await chat.press("yes", message=first_confirmation)
    assert chat.texts() == [f"{en('input.stale_choice')}\n\n{en('delete.confirm')}"]


async def test_long_and_markup_like_texts_are_escaped_and_split_cleanly(
    tmp_path: Path, fake: FakeTelegram
):
    locales = tmp_path / "locales"
    locales.mkdir()
    for source in (Path(__file__).parent.parent / "locales").glob("*.toml"):
        text = source.read_text(encoding="utf-8")
        if source.stem == "nl":
            long_intro = " ".join(f"<b>Zin {n} & meer</b>." for n in range(162))
            text = text.replace('[intro]\ntext = """', f'[intro]\ntext = """{long_intro}\n\n', 1)
        (locales / source.name).write_text(text, encoding="utf-8")
    config = with_bot_settings(telegram_config(tmp_path, fake), locales_dir=locales)
    async with running_bot(config) as running:
        chat = Chat(fake, running, Person(5_551_009, "Ties", language_code="nl"))
        await chat.say("hoi")
    assert len(chat.new) >= 2
    assert all(utf16_length(m["text"]) <= 4096 for m in chat.new)
    shown = " ".join(m["text"] for m in chat.new)
    assert "<b>Zin 0 & meer</b>." in shown and "<b>Zin 161 & meer</b>." in shown
    assert chat.new[-1].get("reply_markup")  # the menu's buttons under the last piece


def test_splitting_keeps_every_word_and_cuts_between_words():
    text = "\n\n".join("woord " * 300 for _ in range(5))
    pieces = split_text(text, 1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())
    assert all(not p.endswith("woor") for p in pieces)
    emoji = split_text("🙂" * 3000, 4096)  # two UTF-16 units each
    assert [utf16_length(p) for p in emoji] == [4096, 1904]


def test_replies_join_into_one_message_with_the_question_s_buttons_last():
    question = Reply("Which?", (Choice("a", "A"),), question="7")
    messages = compose([Reply("Noted."), question], 4096)
    assert [(m.text, m.question) for m in messages] == [("Noted.\n\nWhich?", question)]


async def test_the_telegram_id_is_hashed_and_the_chat_id_sealed(
    tmp_path: Path, fake: FakeTelegram, bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    person = Person(7_413_296_508, "CanaryFirstName", language_code="en")
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    await chat.press("intake")
    await chat.press("agree")
    await chat.press("adviser-a")
    await chat.press("no")
    await chat.press("bullying")
    await chat.say("canary-description-5521")
    user = bot.runtime.engine._keyer("telegram", str(person.id))  # the bot's own keyed hash
    record = await bot.runtime.store.load_conversation(user)
    assert record is not None and record.data["reply_to"] == str(person.id)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    for canary in (b"7413296508", b"CanaryFirstName", b"canary-description-5521"):
        assert canary not in stored
    # Everything logged in this process except the fake Telegram server's access log.
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != "aiohttp.access"
    )
    assert "step on telegram" in logged  # DEBUG and INFO lines were captured
    for canary in ("7413296508", "CanaryFirstName", "canary-description-5521", fake.token):
        assert canary not in logged


async def test_webhook_mode_takes_updates_only_with_the_secret(
    tmp_path: Path, fake: FakeTelegram, en: Texts, unused_tcp_port: int
):
    port = unused_tcp_port
    fake.local_server = True  # a self-hosted Bot API server: any port, plain http
    config = telegram_config(
        tmp_path,
        fake,
        f'mode = "webhook"\n[telegram.webhook]\nport = {port}\n'
        f'public_url = "http://127.0.0.1:{port}/telegram"\n',
    )
    async with running_bot(config) as running:
        await until(lambda: fake.webhook)
        assert fake.webhook is not None
        assert fake.webhook["url"] == f"http://127.0.0.1:{port}/telegram"
        chat = Chat(fake, running, Person(5_551_010, "Bo", language_code="en"))
        await chat.say("hi")
        assert chat.texts()[-1].endswith(en("menu.prompt"))
        forged = {"update_id": 999, "message": fake.send_text(chat.person, "x")["message"]}
        fake.updates.clear()
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                fake.webhook["url"],
                json=forged,
                headers={"X-Telegram-Bot-Api-Secret-Token": "guessed"},
            ) as answer,
        ):
            assert answer.status == 403


async def test_a_restarted_bot_resumes_at_the_same_question(
    tmp_path: Path, fake: FakeTelegram, en: Texts
):
    bot = BotProcess(telegram_config_file(tmp_path, fake))
    await bot.start()
    chat = Chat(fake, bot, Person(5_551_011, "Mo", language_code="en"))
    await chat.say("hi")
    await chat.press("intake")
    await chat.press("agree")
    await chat.press("adviser-a")
    danger_question = chat.new[-1]
    assert danger_question["text"].endswith(asked(en, "danger.prompt"))
    code, logged = await bot.stop()
    assert code == 0, logged
    assert "telegram channel stopped" in logged

    restarted = BotProcess(bot.config_file)
    await restarted.start()
    chat.bot = restarted
    # The buttons sent before the restart still answer the question they belong to.
    await chat.press("no", message=danger_question)
    assert chat.texts()[-1].endswith(asked(en, "topic.prompt"))
    await chat.say("Bullying")
    assert chat.texts()[-1].endswith(asked(en, "description.prompt", max=1000))
    code, logged = await restarted.stop()
    assert code == 0, logged


def test_run_without_a_channel_explains_what_to_switch_on(tmp_path: Path):
    done = run_cli(["run", "--config", str(write_config(tmp_path))])
    assert done.returncode == 2
    assert "no channel is switched on" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_refused_token_stops_the_bot_with_a_clear_message(
    tmp_path: Path, fake: FakeTelegram
):
    config_file = telegram_config_file(tmp_path, fake)
    (tmp_path / "telegram.token").write_text("123456:revoked-token\n")
    bot = BotProcess(config_file)
    await bot.start()
    assert bot.process is not None and bot.process.stderr is not None
    _, logged = await asyncio.wait_for(bot.process.communicate(), 30)
    assert bot.process.returncode == 2
    assert "telegram: the bot token was refused by Telegram" in logged.decode()
    assert "revoked-token" not in logged.decode()


async def test_doctor_checks_the_telegram_token(tmp_path: Path, fake: FakeTelegram):
    config = telegram_config(tmp_path, fake)
    [check] = [c for c in await run_checks(config) if c.name == "telegram"]
    assert check.ok and check.found == "@vertrouwd_test_bot, polling"
    (tmp_path / "telegram.token").write_text("123456:revoked-token\n")
    [check] = [c for c in await run_checks(config) if c.name == "telegram"]
    assert not check.ok and check.found == "the token was refused"
