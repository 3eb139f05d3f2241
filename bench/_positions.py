"""Saying a phrase through the real engine at each place a person types: the first
message, the menu, a choice question, the description, the open chat and after the
chat was stopped. Counts the cold replies ("not understood") and how strongly each
phrase was answered. Used by bench/safety.py."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import load_config
from bot.messages import Reply
from bot.runtime import open_runtime
from tests.conftest import Person

POSITIONS = ("first message", "menu", "choice question", "description", "open chat", "after stop")


async def _to_topic(s: Person) -> None:
    for step in ("hoi", "intake", "agree", "adviser-a", "no"):
        await (s.say(step) if step == "hoi" else s.pick(step))


async def _to_description(s: Person) -> None:
    await _to_topic(s)
    await s.pick("bullying")


async def _sent(s: Person) -> None:
    await _to_description(s)
    await s.say("Mijn leidinggevende schreeuwt in vergaderingen")
    await s.say("Robin")
    for choice in ("chat", "mornings", "this_week", "send"):
        await s.pick(choice)
    await s.runtime.worker.deliver_due()


async def _stopped(s: Person) -> None:
    await _sent(s)
    await s.say("/stop")
    await s.pick("yes")


async def _nothing(s: Person) -> None:
    return None


async def _menu(s: Person) -> None:
    await s.say("hoi")


_BEFORE: dict[str, Callable[[Person], Awaitable[None]]] = {
    "first message": _nothing,
    "menu": _menu,
    "choice question": _to_topic,
    "description": _to_description,
    "open chat": _sent,
    "after stop": _stopped,
}


def _answer_kind(replies: list[Reply], texts: dict[str, set[str]]) -> str:
    said = [reply.text for reply in replies]
    if any(text.startswith(tuple(texts["routes"])) for text in said):
        return "routes"
    if any(text in texts["gentle"] for text in said):
        return "gentle"
    return "none"


async def run_positions(
    phrases: dict[str, list[str]], limit: int | None = None
) -> dict[str, dict[str, Counter[str]]]:
    """Per position and kind of phrase: answers with the routes / gentle line / neither,
    and the cold ones ("not understood")."""
    with tempfile.TemporaryDirectory() as folder:
        config_file = Path(folder) / "config.toml"
        config_file.write_text('[bot]\ndata_dir = "data"\n', encoding="utf-8")
        config = load_config(config_file, environ={})
        async with open_runtime(config) as runtime:
            catalog = runtime.texts.current
            texts = {
                "routes": {catalog.texts(lang)("emergency.title") for lang in ("nl", "en")},
                "gentle": {catalog.texts(lang)("safety.gentle") for lang in ("nl", "en")},
                "cold": {catalog.texts(lang)("input.not_understood") for lang in ("nl", "en")},
            }
            results: dict[str, dict[str, Counter[str]]] = {}
            count = 0
            for position in POSITIONS:
                results[position] = {}
                for kind, lines in phrases.items():
                    tally: Counter[str] = Counter()
                    step = max(1, len(lines) // limit) if limit else 1
                    for line in lines[::step][:limit]:
                        count += 1
                        speaker = Person(runtime, f"bench-{count}", lang="nl")
                        await _BEFORE[position](speaker)
                        replies = await speaker.say(line)
                        tally[_answer_kind(replies, texts)] += 1
                        tally["cold"] += any(r.text in texts["cold"] for r in replies)
                    results[position][kind] = tally
            return results


def positions(
    phrases: dict[str, list[str]], limit: int | None = None
) -> dict[str, dict[str, Counter[str]]]:
    return asyncio.run(run_positions(phrases, limit))
