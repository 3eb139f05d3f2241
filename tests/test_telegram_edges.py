"""Telegram at the edges a real deployment meets (issue 19): live locations, deep links,
groups and channels, long questions, busy chats, failing and lost sends, forwards,
topics, and PTB's own logging. The real bot against the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.telegram.channel import ALLOWED_UPDATES
from bot.texts.catalog import Texts
from tests.conftest import asked
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


def sends_to(fake: FakeTelegram, chat_id: int) -> list[dict[str, object]]:
    return [p for m, p in fake.calls if m == "sendMessage" and int(p["chat_id"]) == chat_id]


async def to_description(chat: Chat) -> None:
    await chat.say("hi")
    await chat.press("intake")
    await chat.press("agree")
    await chat.press("adviser-a")
    await chat.press("no")
    await chat.press("bullying")


# -- D1: a webhook Telegram refuses ------------------------------------------------------


def webhook_extra(port: int) -> str:
    return (
        f'mode = "webhook"\n[telegram.webhook]\nport = {port}\n'
        f'public_url = "http://127.0.0.1:{port}/telegram"\n'
    )


async def test_a_refused_webhook_stops_the_bot_with_one_line_naming_the_setting(
    tmp_path: Path, fake: FakeTelegram, unused_tcp_port: int
):
    # Telegram's own Bot API takes only https on its four ports: this URL is refused.
    bot = BotProcess(telegram_config_file(tmp_path, fake, webhook_extra(unused_tcp_port)))
    await bot.start()
    assert bot.process is not None
    _, logged = await asyncio.wait_for(bot.process.communicate(), 30)
    assert bot.process.returncode == 2
    assert "telegram.webhook.public_url" in logged.decode()
    assert "an https url must be provided" in logged.decode().lower()
    assert "Traceback" not in logged.decode()
    assert [m for m, _ in fake.calls].count("setWebhook") == 1  # a refusal is not retried


async def test_while_telegram_fails_the_webhook_set_up_each_try_is_logged_and_sigterm_stops_it(
    tmp_path: Path, fake: FakeTelegram, unused_tcp_port: int
):
    fake.local_server = True
    fake.failures["setWebhook"] = [502] * 50
    bot = BotProcess(telegram_config_file(tmp_path, fake, webhook_extra(unused_tcp_port)))
    await bot.start()
    await until(lambda: [m for m, _ in fake.calls].count("setWebhook") >= 2, timeout=20)
    asked_to_stop = time.monotonic()
    code, logged = await bot.stop()
    assert time.monotonic() - asked_to_stop < 10
    assert code == 0, logged
    assert "setting up webhook failed (NetworkError), attempt 1 of 8" in logged
    assert "attempt 2 of 8" in logged


async def test_sigterm_stops_the_bot_while_it_waits_out_telegram_at_start(
    tmp_path: Path, fake: FakeTelegram
):
    fake.throttled["setMyCommands"] = 60  # "retry after 60": PTB's rate limiter waits
    bot = BotProcess(telegram_config_file(tmp_path, fake))
    await bot.start()
    await until(lambda: any(m == "setMyCommands" for m, _ in fake.calls), timeout=20)
    asked_to_stop = time.monotonic()
    code, logged = await bot.stop()
    assert time.monotonic() - asked_to_stop < 10
    assert code == 0, logged
    assert "telegram channel stopped" in logged


# -- D2: edits ---------------------------------------------------------------------------


async def test_a_shared_live_location_gets_one_reply_not_one_per_move(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    person = Person(5_552_001, "Noa", language_code="en")
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    fake.share_live_location(person, moves=10)
    await chat.say("/help")  # handled after the location and its moves, in order
    texts = [m["text"] for m in chat.messages()]
    assert texts.count(en("channel.edit_ignored")) == 0
    assert sum(t.startswith(en("input.unsupported")) for t in texts) == 1


async def test_an_edit_is_answered_once_and_only_when_the_text_changed(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    person = Person(5_552_002, "Lis", language_code="en")
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    typed = chat.last_sent
    fake.edit(person, typed, "hi")  # Telegram's spurious edit: the same text
    await chat._after(lambda: fake.edit(person, typed, "hello"))
    assert chat.texts() == [en("channel.edit_ignored")]
    fake.edit(person, typed, "hello there")  # the same message again: no second notice
    await chat.say("/help")
    texts = [m["text"] for m in chat.messages()]
    assert texts.count(en("channel.edit_ignored")) == 1


async def test_edits_count_against_the_flood_limit(tmp_path: Path, fake: FakeTelegram, en: Texts):
    config = telegram_config(
        tmp_path, fake, "[limits]\nburst_messages = 3\nmessages_per_minute = 1\n"
    )
    async with running_bot(config) as running:
        person = Person(5_552_003, "Fay", language_code="en")
        chat = Chat(fake, running, person)
        sent = []
        for text in ("hi", "/help", "/help"):
            await chat.say(text)
            sent.append(chat.last_sent)
        fake.edit(person, sent[0], "changed")  # over the limit: warned, as for a message
        await until(lambda: en("input.flood") in [m["text"] for m in chat.messages()])
        for update in sent[1:]:
            fake.edit(person, update, "changed")
        await until(lambda: not fake.updates)
        await asyncio.sleep(0.3)
        await until(running.idle)
    texts = [m["text"] for m in chat.messages()]
    assert en("channel.edit_ignored") not in texts
    assert texts.count(en("input.flood")) == 1


# -- D3: deep links ----------------------------------------------------------------------


async def test_a_deep_link_only_starts_and_is_never_taken_as_an_answer(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    chat = Chat(fake, bot, Person(5_552_004, "Dex", language_code="en"))
    await chat.say("/start campaign42")
    assert chat.texts()[-1].endswith(en("menu.prompt"))
    await chat.press("intake")
    await chat.press("agree")
    await chat.press("adviser-a")
    await chat.press("no")
    await chat.press("bullying")
    assert chat.texts()[-1].endswith(asked(en, "description.prompt", max=1000))
    await chat.say("/start campaign42")  # mid-intake: the menu, the draft kept
    assert chat.texts()[-1].startswith(en("intro.text", organisation="Stichting Voorbeeld")[:40])
    assert en("menu.continue") in str(chat.new[-1]["reply_markup"])
    await chat.press("continue")
    assert chat.texts()[-1].endswith(asked(en, "description.prompt", max=1000))


# -- D4, D5, R5: groups and channels -----------------------------------------------------


async def test_a_group_where_the_bot_may_not_write_is_left_all_the_same(
    fake: FakeTelegram, bot: RunningBot
):
    fake.muted_in.add(-100_901)
    fake.add_to_group(Person(5_552_005, "Jo"), -100_901)
    await until(lambda: fake.left_chats)
    await until(bot.idle)
    assert fake.left_chats == [-100_901]
    assert fake.bot_messages_to(-100_901) == []


async def test_added_to_the_same_group_again_it_leaves_again_and_says_it_once(
    fake: FakeTelegram, bot: RunningBot, nl: Texts
):
    person = Person(5_552_006, "Jo")
    fake.add_to_group(person, -100_902)
    await until(lambda: fake.left_chats)
    fake.add_to_group(person, -100_902)
    await until(lambda: len(fake.left_chats) == 2)
    await until(bot.idle)
    assert fake.left_chats == [-100_902, -100_902]
    assert [m["text"] for m in fake.bot_messages_to(-100_902)] == [nl("channel.private_only")]


async def test_a_channel_is_left_without_a_word_to_its_subscribers(
    fake: FakeTelegram, bot: RunningBot
):
    fake.add_to_channel(Person(5_552_007, "Owner"), -100_903)
    await until(lambda: fake.left_chats)
    await until(bot.idle)
    assert fake.left_chats == [-100_903]
    assert sends_to(fake, -100_903) == []


# -- D6: a long question's keyboard ------------------------------------------------------


async def test_a_press_under_a_question_near_the_length_limit_takes_the_keyboard_away(
    tmp_path: Path, fake: FakeTelegram, en: Texts
):
    config = telegram_config(tmp_path, fake)
    locale = config.locales_dir / "en.toml"
    long_prompt = "word " * 815 + "end?"
    text = locale.read_text(encoding="utf-8")
    locale.write_text(
        text.replace('prompt = "What would you like to do?"', f'prompt = "{long_prompt}"', 1),
        encoding="utf-8",
    )
    async with running_bot(config) as running:
        chat = Chat(fake, running, Person(5_552_008, "Ivo", language_code="en"))
        await chat.say("hi")
        menu = chat.last_keyboard()
        chosen = en("channel.chosen", choice=en("menu.intake"))
        assert len(menu["text"]) + 2 + len(chosen) > 4096  # no room to show the choice
        await chat.press("intake")
    assert fake.messages[menu["message_id"]].get("reply_markup") is None
    assert chat.choice_ids() == ["agree", "disagree", "more"]  # the press counted


# -- R1: a busy chat and the others ------------------------------------------------------


async def test_one_chat_sending_many_messages_does_not_hold_back_another(
    fake: FakeTelegram, bot: RunningBot
):
    busy, quiet = Person(5_552_009, "Busy", "en"), Person(5_552_010, "Quiet", "en")
    fake.slow_chats[busy.id] = 0.2  # each answer to the busy chat takes 200 ms
    for _ in range(12):
        fake.send_text(busy, "/help")
    fake.send_text(quiet, "/help")
    await fake.wait_for_message(quiet.id, 0)
    # Before, the busy chat's waiting messages held every slot: the quiet one was
    # answered only after five or more of them.
    assert fake.sent_count(busy.id) <= 3
    await until(lambda: fake.sent_count(busy.id) == 12, timeout=20)


# -- R2, R6: sends that fail or lose their answer ----------------------------------------


async def case_on_telegram(chat: Chat) -> str:
    await to_description(chat)
    await chat.say("Canary-relay happened again")
    await chat.say("Robin")
    await chat.press("chat")
    await chat.press("evenings")
    await chat.press("this_week")
    await chat.press("send")
    record = await until_case(chat)
    return record


async def until_case(chat: Chat) -> str:
    assert isinstance(chat.bot, RunningBot)
    runtime = chat.bot.runtime
    user = runtime.engine._keyer("telegram", str(chat.person.id))  # the bot's own keyed hash
    case_ref = await runtime.store.open_case(user)
    assert case_ref is not None
    return case_ref


async def adviser_writes(bot: RunningBot, case_ref: str, text: str, event_id: str) -> None:
    runtime = bot.runtime
    case = await runtime.store.case(case_ref)
    await runtime.desk.in_thread(case, runtime.config.adviser("adviser-a"), event_id, text)


async def test_a_relay_telegram_refuses_is_not_retried_and_the_adviser_is_told(
    tmp_path: Path, fake: FakeTelegram, nl: Texts
):
    config = telegram_config(tmp_path, fake, "[outbox]\nretry_initial_seconds = 0.1\n")
    async with running_bot(config) as running:
        chat = Chat(fake, running, Person(5_552_011, "Roos", language_code="en"))
        case_ref = await case_on_telegram(chat)
        fake.unknown_chats.add(chat.person.id)  # "Bad Request: chat not found"
        await adviser_writes(running, case_ref, "Shall we talk on Tuesday?", "$r1")
        refused = nl("thread.refused.employee", case_ref=case_ref)
        await until_in_thread(running, case_ref, refused)
        calls = len(sends_to(fake, chat.person.id))
        await asyncio.sleep(0.5)  # several retry intervals
        assert len(sends_to(fake, chat.person.id)) == calls  # tried once, not again
        # The refusal does not hold back the case's later messages.
        fake.unknown_chats.clear()
        await adviser_writes(running, case_ref, "Or Wednesday?", "$r2")
        await until(lambda: any("Or Wednesday?" in m["text"] for m in chat.messages()))
    assert not any("Tuesday" in m["text"] for m in chat.messages())


async def until_in_thread(bot: RunningBot, case_ref: str, text: str) -> None:
    """Until the adviser's thread in the local inbox shows ``text``."""
    for _ in range(500):
        if text in await bot.runtime.inbox.thread(case_ref):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never in the thread")


async def test_a_relay_in_two_pieces_retried_after_the_second_failed_sends_only_the_second(
    tmp_path: Path, fake: FakeTelegram
):
    config = telegram_config(
        tmp_path,
        fake,
        "retries_after_429 = 0\n[outbox]\nretry_initial_seconds = 0.1\n",
    )
    async with running_bot(config) as running:
        chat = Chat(fake, running, Person(5_552_012, "Pim", language_code="en"))
        case_ref = await case_on_telegram(chat)
        before = len(chat.messages())
        fake.failures["sendMessage"] = [None, 429]  # the first piece goes, the second waits
        long_text = " ".join(f"line{n:04d}" for n in range(600))  # about 5,400 characters
        await adviser_writes(running, case_ref, long_text, "$p1")
        await until(lambda: len(chat.messages()) >= before + 2)
        await asyncio.sleep(0.3)
    pieces = [m["text"] for m in chat.messages()[before:]]
    assert len(pieces) == 2
    assert "line0000" in pieces[0] and "line0599" in pieces[1]


@pytest.mark.parametrize("lost", ["drop", "late"])  # a broken connection, a read timeout
async def test_a_send_whose_answer_was_lost_is_not_sent_again(
    fake: FakeTelegram, bot: RunningBot, en: Texts, lost: str
):
    chat = Chat(fake, bot, Person(5_552_013, "Bas", language_code="en"))
    fake.failures["sendMessage"] = [lost]  # Telegram shows it; its answer does not arrive
    await chat.say("hi")
    await chat.say("/help")
    assert len(sends_to(fake, chat.person.id)) == 2  # the lost answer was not retried
    texts = [m["text"] for m in chat.messages()]
    assert texts[0].endswith(en("menu.prompt")) and len(texts) == 2


# -- R3: a press while Telegram fails ----------------------------------------------------


async def test_a_press_still_counts_when_telegram_fails_to_answer_it(
    fake: FakeTelegram, bot: RunningBot
):
    chat = Chat(fake, bot, Person(5_552_014, "Eli", language_code="en"))
    await chat.say("hi")
    fake.failures["answerCallbackQuery"] = [502]
    fake.failures["editMessageText"] = [502]
    await chat.press("intake")
    assert chat.choice_ids() == ["agree", "disagree", "more"]


# -- R4: PTB's own logs ------------------------------------------------------------------


async def test_an_update_ptb_cannot_read_leaves_no_content_in_any_log(
    tmp_path: Path, fake: FakeTelegram, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake.local_server = True
    config = telegram_config(tmp_path, fake, webhook_extra(unused_tcp_port))
    async with running_bot(config) as running:
        await Chat(fake, running, Person(5_552_018, "Ula", language_code="en")).say("hi")
        assert fake.webhook is not None  # and the bot's webhook server is listening
        unreadable = {  # a user without an id: PTB cannot parse it
            "update_id": 77,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 7_413_296_509, "type": "private"},
                "from": {"first_name": "CanaryFirstName", "is_bot": False},
                "text": "canary-text-8812",
            },
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                fake.webhook["url"],
                json=unreadable,
                headers={"X-Telegram-Bot-Api-Secret-Token": fake.webhook["secret_token"]},
            ) as answer,
        ):
            assert answer.status == 400
    ptb = [r for r in caplog.records if r.name.startswith("telegram")]
    assert any(r.levelno == logging.CRITICAL for r in ptb)  # PTB did log the failure
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != "aiohttp.access"
    )
    for canary in ("7413296509", "CanaryFirstName", "canary-text-8812"):
        assert canary not in logged


# -- R7: forwarded messages --------------------------------------------------------------


async def test_a_forwarded_message_is_text_but_never_a_choice(
    fake: FakeTelegram, bot: RunningBot, en: Texts
):
    person = Person(5_552_015, "Ada", language_code="en")
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    await chat.press("intake")
    await chat._after(lambda: fake.forward(person, "1"))  # "1" would be "agree"
    assert chat.choice_ids() == ["agree", "disagree", "more"]  # still the consent
    await chat.press("agree")
    await chat.press("adviser-a")
    await chat.press("no")
    await chat.press("bullying")
    await chat._after(lambda: fake.forward(person, "What my manager wrote to me"))
    assert chat.texts()[-1].endswith(asked(en, "name.prompt"))  # taken as the description


# -- R8: topics in the private chat ------------------------------------------------------


async def test_with_topics_on_the_bot_answers_in_the_topic_the_message_came_from(
    fake: FakeTelegram, bot: RunningBot
):
    person = Person(5_552_016, "Tom", language_code="en")
    chat = Chat(fake, bot, person)
    await chat._after(lambda: fake.send_text(person, "hi", thread_id=42))
    assert [m.get("message_thread_id") for m in chat.new] == [42]
    await chat.press("intake")  # a press on a message in the topic: answered there too
    assert {m.get("message_thread_id") for m in chat.new} == {42}


# -- the fake's memory of allowed_updates ------------------------------------------------


async def test_the_bot_asks_only_for_the_updates_it_handles(fake: FakeTelegram, bot: RunningBot):
    person = Person(5_552_017, "Max", language_code="en")
    fake.push_raw({"message_reaction": {"chat": {"id": person.id, "type": "private"}}})
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    assert fake.allowed_updates == list(ALLOWED_UPDATES)
    assert not any("message_reaction" in update for update in fake.updates)
