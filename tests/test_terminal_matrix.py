"""`vertrouwd chat` with the Matrix sink: an answer in the thread reaches the terminal."""

from __future__ import annotations

import asyncio
import re

from bot.texts.catalog import Texts
from tests.jsonl_session import JsonlSession
from tests.matrix_world import World

CASE_REF = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
INTAKE = [
    {"text": "hello"},
    {"choice": "intake"},
    {"choice": "agree"},
    {"choice": "no"},
    {"choice": "bullying"},
    {"text": "The team lead mocks my accent"},
    {"text": "Robin"},
    {"choice": "email"},
    {"text": "robin@example.nl"},
    {"choice": "message_ok"},
    {"choice": "evenings"},
    {"choice": "this_week"},
    {"choice": "send"},
]


async def test_the_advisers_thread_reply_reaches_the_person_at_the_terminal(
    world: World, en: Texts
):
    config = world.folder / "config.toml"
    config.write_text(world.config_text())
    chat = JsonlSession(config, "robin", log_level="WARNING")
    try:
        for message in INTAKE:
            replies = await asyncio.to_thread(chat.send, message)
        match = CASE_REF.search(" ".join(r["text"] for r in replies))
        assert match, replies
        case_ref = match.group()
        adviser, room = world.adviser, world.room_id
        await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
        root = adviser.text_events[0].event_id
        assert case_ref in adviser.text_events[0].body
        await adviser.send_text(room, "Shall we call on Tuesday?", thread_root=root)
        relayed = await asyncio.to_thread(chat.read_unprompted, 30)
        assert relayed["text"] == en(
            "line.from_adviser", adviser="Anna", case_ref=case_ref, text="Shall we call on Tuesday?"
        )
    finally:
        log = await asyncio.to_thread(chat.close)
    assert "Traceback" not in log
