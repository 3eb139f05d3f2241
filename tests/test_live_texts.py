"""Edited locale files are picked up by the running bot; broken ones never replace good ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime import Runtime, open_runtime
from tests.conftest import FakeClock, Person, edit, make_config, with_bot_settings


@pytest.fixture
async def live(tmp_path: Path, locales: Path, clock: FakeClock) -> AsyncIterator[Runtime]:
    config = with_bot_settings(
        make_config(tmp_path), locales_dir=locales, texts_reload_seconds=0.02
    )
    async with open_runtime(config, clock) as runtime:
        yield runtime


async def settle(runtime: Runtime) -> None:
    """Long enough for the watcher to have looked at the files more than once."""
    await asyncio.sleep(0.15)


async def test_an_edited_text_is_used_from_the_next_message_on(live: Runtime, locales: Path):
    person = Person(live, "alice")
    await person.say("hi")
    assert person.question.text == "What would you like to do?"
    edit(locales / "en.toml", 'prompt = "What would you like to do?"', 'prompt = "How can I help?"')
    await settle(live)
    await person.say("/menu")
    assert person.question.text == "How can I help?"


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("[menu]\n", "[menu\n", "en.toml: not valid TOML"),
        (
            "Your case number is {case_ref}.",
            "Your case number is {case}.",
            "en.toml: sent.text: placeholders differ",
        ),
        ('prompt = "What would you like to do?"', 'prompt = ""', "en.toml: menu.prompt: is empty"),
        ("[menu]\nprompt", "[menu]\nprompt = 1\nquestion", "en.toml: menu.prompt: must be text"),
    ],
)
async def test_a_broken_edit_is_refused_whole_and_the_bot_keeps_serving(
    live: Runtime,
    locales: Path,
    caplog: pytest.LogCaptureFixture,
    old: str,
    new: str,
    named: str,
):
    caplog.set_level(logging.INFO)
    person = Person(live, "bob")
    await person.say("hi")
    # One good change and one broken one, saved together: neither is taken.
    edit(locales / "nl.toml", 'prompt = "Wat wil je doen?"', 'prompt = "Waarmee kan ik helpen?"')
    good = (locales / "en.toml").read_text(encoding="utf-8")
    edit(locales / "en.toml", old, new)
    await settle(live)
    assert named in caplog.text
    assert "the previous texts stay in use" in caplog.text
    await person.say("/menu")
    assert person.question.text == "What would you like to do?"  # still served, as before
    assert live.catalog.texts("nl")("menu.prompt") == "Wat wil je doen?"

    (locales / "en.toml").write_text(good, encoding="utf-8")  # fixed
    await settle(live)
    assert live.catalog.texts("nl")("menu.prompt") == "Waarmee kan ik helpen?"


async def test_texts_that_no_longer_fit_the_settings_are_refused(
    live: Runtime, locales: Path, caplog: pytest.LogCaptureFixture
):
    # Consistent files, but the config still offers the topic "bullying".
    edit(locales / "en.toml", 'bullying = "Bullying"\n', "")
    edit(locales / "nl.toml", 'bullying = "Pesten"\n', "")
    await settle(live)
    assert "intake.topics: topic 'bullying' has no text 'topic.bullying'" in caplog.text
    assert live.catalog.texts("en")("topic.bullying") == "Bullying"
