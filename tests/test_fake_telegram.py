"""The fake Bot API answers python-telegram-bot the way Telegram does (groundwork for issue 4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, RetryAfter

from tests.fake_telegram import FakeTelegram, Person


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


async def test_the_real_client_talks_to_it(fake: FakeTelegram, bot: Bot):
    assert bot.username == "vertrouwd_test_bot"
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="c:danger:yes")]])
    sent = await bot.send_message(
        42, "<b>Hoi</b> &amp; welkom", parse_mode="HTML", reply_markup=keyboard
    )
    assert (
        fake.messages[sent.message_id]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        == "c:danger:yes"
    )
    await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
    assert fake.messages[sent.message_id]["reply_markup"] is None


async def test_it_refuses_what_telegram_refuses(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(42, "x" * 4097)
    await bot.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # tags are free
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(42, "1 < 2 <script>", parse_mode="HTML")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(42, "hi", reply_markup=too_long)
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Hulp!", "help")])


async def test_it_can_be_told_to_rate_limit(fake: FakeTelegram, bot: Bot):
    fake.throttled["sendMessage"] = 3
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(42, "hi")
    assert "Retry in 3 seconds" in str(limited.value)
    await bot.send_message(42, "hi")  # the next one goes through


async def test_updates_arrive_by_long_polling_and_offsets_confirm_them(
    fake: FakeTelegram, bot: Bot
):
    person = Person(1001, "Robin", "en")
    waiting = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    fake.send_text(person, "/start")
    [update] = await asyncio.wait_for(waiting, 5)
    assert update.message.text == "/start" and update.effective_user.language_code == "en"
    fake.send_photo(person)
    [photo] = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert photo.message.photo
    assert await bot.get_updates(offset=photo.update_id + 1, timeout=0) == ()
