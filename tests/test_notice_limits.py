"""Notices answer within the flood limit: a burst of edits cannot make the bot talk
without end (and drain its Telegram send budget for everyone)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.texts.catalog import Texts
from tests.fake_telegram import FakeTelegram, Person
from tests.telegram_harness import Chat, running_bot, telegram_config, until


async def test_a_burst_of_edits_gets_no_more_answers_than_the_flood_limit(
    fake: FakeTelegram, tmp_path: Path, en: Texts
):
    config = telegram_config(
        tmp_path, fake, "[limits]\nburst_messages = 3\nmessages_per_minute = 1\n"
    )
    async with running_bot(config) as bot:
        person = Person(5_551_808, "Edits", language_code="en")
        chat = Chat(fake, bot, person)
        await chat.say("hi")  # one of the three
        sent = chat.last_sent
        for n in range(10):
            fake.edit(person, sent, f"edit {n}")
        await until(lambda: not fake.updates)
        await until(bot.idle)
        await asyncio.sleep(0.5)
    # Ten edits of one message: answered once (at most once per message), and never
    # beyond the flood limit.
    assert [m["text"] for m in chat.messages()].count(en("channel.edit_ignored")) == 1
