"""Texts changed one at a time (as from the admin room): validated, written back with the
file's comments intact, audited, revertible, and in use from the next message on."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.admin.text_editor import TextEditor
from bot.runtime import Runtime, open_runtime
from tests.conftest import LOCALES, FakeClock, Person, make_config, with_bot_settings

ADMIN = "@beheer:example.org"


@pytest.fixture
async def runtime(tmp_path: Path, locales: Path, clock: FakeClock) -> AsyncIterator[Runtime]:
    config = with_bot_settings(make_config(tmp_path), locales_dir=locales)
    async with open_runtime(config, clock) as running:
        yield running


@pytest.fixture
def editor(runtime: Runtime) -> TextEditor:
    assert runtime.editor is not None
    return runtime.editor


async def test_a_set_text_is_used_at_once_and_the_file_keeps_its_comments(
    runtime: Runtime, editor: TextEditor
):
    path = runtime.config.locales_dir / "en.toml"
    comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert comments  # the shipped files explain themselves
    person = Person(runtime, "alice")
    await person.say("hi")
    result = await editor.set(ADMIN, "menu.prompt", "en", "How can I help you today?")
    assert result.ok and result.change is not None
    await person.say("/menu")
    assert person.question.text == "How can I help you today?"
    after = path.read_text()
    assert [line for line in after.splitlines() if line.startswith("#")] == comments
    assert tomllib.loads(after)["menu"]["prompt"] == "How can I help you today?"
    # Only that line changed.
    before_lines = (LOCALES / "en.toml").read_text().splitlines()
    changed = [(a, b) for a, b in zip(before_lines, after.splitlines(), strict=True) if a != b]
    assert changed == [
        ('prompt = "What would you like to do?"', 'prompt = "How can I help you today?"')
    ]


async def test_a_text_with_a_wrong_placeholder_is_refused_and_the_old_one_stays(
    runtime: Runtime, editor: TextEditor
):
    original = (runtime.config.locales_dir / "en.toml").read_text()
    result = await editor.set(ADMIN, "sent.text", "en", "Sent. Your reference: {case_number}")
    assert not result.ok
    assert "en.toml: sent.text: placeholders differ" in str(result.problems[0])
    assert (runtime.config.locales_dir / "en.toml").read_text() == original
    assert "{case_ref}" in runtime.catalog.locales["en"]["sent.text"]
    assert await editor.history("sent.text") == []


@pytest.mark.parametrize(
    ("key", "lang", "problem"),
    [
        ("menu.prompt", "de", "de.toml: there is no such locale file"),
        ("menu.welcome", "en", "en.toml: menu.welcome: is not a text the bot uses"),
        ("menu.prompt", "en", "en.toml: menu.prompt: is empty"),
    ],
)
async def test_impossible_edits_are_named(editor: TextEditor, key: str, lang: str, problem: str):
    result = await editor.set(ADMIN, key, lang, "   " if problem.endswith("empty") else "Hoi")
    assert [str(p) for p in result.problems] == [problem]


async def test_history_and_revert(runtime: Runtime, editor: TextEditor, clock: FakeClock):
    first = await editor.set(ADMIN, "help.text", "nl", "Typ menu voor het menu. Wacht {hours} uur.")
    clock.advance(60)
    second = await editor.set(
        "@other:example.org", "help.text", "nl", "Regel één\nRegel twee, {hours} uur"
    )
    history = await editor.history("help.text", "nl")
    assert [c.id for c in history] == [second.change, first.change]
    assert (
        history[0].actor == "@other:example.org"
        and history[0].after == "Regel één\nRegel twee, {hours} uur"
    )
    before = history[1].before
    assert before is not None and before.startswith("Hierboven staan de hulplijnen voor nu")
    assert '"""' in (runtime.config.locales_dir / "nl.toml").read_text()  # multi-line kept so

    assert first.change is not None
    reverted = await editor.revert(ADMIN, first.change)
    assert reverted.ok
    assert runtime.catalog.texts("nl")("help.text") == history[1].before
    assert len(await editor.history("help.text")) == 3
    assert not (await editor.revert(ADMIN, 999)).ok


async def test_a_file_broken_on_disk_is_named_instead_of_edited(
    runtime: Runtime, editor: TextEditor
):
    path = runtime.config.locales_dir / "en.toml"
    path.write_text("[menu\n")
    result = await editor.set(ADMIN, "menu.prompt", "en", "Hello")
    assert [p.file for p in result.problems] == ["en.toml"]
    assert "cannot be read now" in str(result.problems[0])
    assert path.read_text() == "[menu\n"
