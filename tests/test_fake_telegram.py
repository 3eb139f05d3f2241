"""The fake Bot API answers python-telegram-bot the way Telegram does (groundwork for issue 4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, RetryAfter

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


@pytest.mark.parametrize(
    "text",
    [
        "<span>x</span>",  # a span is only a spoiler
        '<span class="big">x</span>',
        "<a>x</a>",  # a link needs its href
        "<code><b>x</b></code>",  # nothing inside code or pre
        '<a href="https://x.org"><code>x</code></a>',  # nor one entity in another
        "<blockquote><blockquote>x</blockquote></blockquote>",
        "x <abc",  # an unclosed start tag
        "<b>x",
        "<b><i>x</b></i>",
    ],
)
async def test_it_refuses_the_html_telegram_refuses(bot: Bot, text: str):
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(42, text, parse_mode="HTML")


async def test_it_takes_the_html_telegram_takes_and_shows_what_telegram_shows(
    fake: FakeTelegram, bot: Bot
):
    accepted = {
        "<B>bold</B> <I>it</I>": "bold it",  # tag names in any case
        '<tg-time unix="1767225600" format="wDT">1 Jan</tg-time>': "1 Jan",
        '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler>': "s t",
        '<a href="https://x.org"><b>link</b></a>': "link",
        '<pre><code class="language-python">x = 1</code></pre>': "x = 1",
        "<blockquote><b>q</b></blockquote>": "q",
        # Only four named entities: the rest stays as typed.
        "&lt;&gt;&amp;&quot; &nbsp; &copy &#128512; &#x41;": '<>&" &nbsp; &copy 😀 A',
    }
    for text, shown in accepted.items():
        sent = await bot.send_message(42, text, parse_mode="HTML")
        assert fake.messages[sent.message_id]["text"] == shown


async def test_a_webhook_takes_only_https_on_telegram_s_ports_and_blocks_polling(
    fake: FakeTelegram, bot: Bot
):
    for url in ("http://bot.example.org/hook", "https://bot.example.org:8080/hook"):
        with pytest.raises(BadRequest, match=r"(?i)bad webhook"):
            await bot.set_webhook(url)
    await bot.set_webhook("https://bot.example.org:8443/hook", allowed_updates=["message"])
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    fake.local_server = True  # a self-hosted Bot API server takes any URL
    await bot.set_webhook("http://127.0.0.1:9/hook")
    assert fake.allowed_updates == ["message"]


async def test_it_sends_only_the_update_types_asked_for(fake: FakeTelegram, bot: Bot):
    person = Person(1002, "Sam", "en")
    fake.push_raw({"message_reaction": {"chat": {"id": 1002, "type": "private"}}})
    fake.send_text(person, "hi")
    [update] = await bot.get_updates(timeout=0)  # the default leaves reactions out
    assert update.message.text == "hi"
    fake.send_text(person, "again")
    assert (
        await bot.get_updates(offset=update.update_id + 1, allowed_updates=["edited_message"]) == ()
    )


async def test_an_inline_button_needs_exactly_one_action(bot: Bot):
    text_only = InlineKeyboardMarkup([[InlineKeyboardButton("a")]])
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(42, "hi", reply_markup=text_only)
