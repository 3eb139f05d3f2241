"""`vertrouwd texts check` finds every kind of broken locale, naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.texts.catalog import TextsInvalid, load_catalog
from tests.conftest import edit, run_cli


def check(locales: Path) -> tuple[int, str]:
    result = run_cli(["texts", "check", "--locales", str(locales)])
    return result.returncode, result.stdout + result.stderr


def test_the_shipped_locales_pass(locales: Path):
    code, output = check(locales)
    assert code == 0, output
    assert "complete" in output


def test_a_text_missing_from_the_default_language_is_named_with_its_file(locales: Path):
    edit(locales / "nl.toml", 'prompt = "Waar gaat het over? Kies wat het beste past."\n', "")
    code, output = check(locales)
    assert code == 1
    assert "nl.toml: topic.prompt: is missing" in output


def test_different_placeholders_are_named(locales: Path):
    edit(locales / "en.toml", "Your case number is {case_ref}.", "Your case number is.")
    code, output = check(locales)
    assert code == 1
    assert "en.toml: sent.text: placeholders differ" in output
    assert "en.toml has {days}, nl.toml has {case_ref}, {days}" in output


def test_empty_broken_and_too_long_texts_are_named(locales: Path):
    edit(locales / "en.toml", 'yes = "Yes"', 'yes = "   "')
    edit(locales / "en.toml", 'no = "No"', 'no = "No {"')
    edit(locales / "nl.toml", 'empty = "Ik heb', f'empty = "{"x" * 4097}Ik heb')
    code, output = check(locales)
    assert code == 1
    assert "en.toml: danger.yes: is empty" in output
    assert "en.toml: danger.no: has a broken placeholder" in output
    assert "nl.toml: input.empty: is 41" in output and "the limit is 4096" in output


def test_a_toml_syntax_error_names_the_file(locales: Path):
    edit(locales / "en.toml", "[menu]", "[menu")
    code, output = check(locales)
    assert code == 1
    assert "en.toml: not valid TOML" in output


def test_the_bot_refuses_to_start_on_broken_texts(locales: Path):
    edit(locales / "nl.toml", 'yes = "Ja"', "yes = 3")
    with pytest.raises(TextsInvalid) as error:
        load_catalog(locales, "nl")
    assert "nl.toml: danger.yes: must be text" in str(error.value)


def test_a_new_language_may_start_small_and_the_check_lists_what_it_misses(locales: Path):
    (locales / "de.toml").write_text(
        '[meta]\nlanguage_name = "Deutsch"\n[menu]\nprompt = "Was möchten Sie tun?"\n',
        encoding="utf-8",
    )
    code, output = check(locales)
    assert code == 0, output
    assert "de.toml: intro.text: still missing; the nl text is used" in output
    assert "de.toml: menu.prompt" not in output
    code, output = (
        run_cli(["texts", "check", "--complete", "--locales", str(locales)]).returncode,
        "",
    )
    assert code == 1
    catalog = load_catalog(locales, "nl")
    german = catalog.texts("de")
    assert german("menu.prompt") == "Was möchten Sie tun?"
    assert german("help.text") == catalog.texts("nl")("help.text")  # key by key
    assert "de" in catalog.languages()


def test_plural_forms_are_checked_against_the_language_s_categories(locales: Path):
    edit(locales / "nl.toml", "{seconds:one=seconde|other=seconden}", "{seconds:other=seconden}")
    edit(locales / "en.toml", "{seconds:one=second|other=seconds}", "{seconds:one=second|few=x}")
    edit(locales / "en.toml", "{days} {days:one=day|other=days} ago", "{days} {days:.2f} ago")
    code, output = check(locales)
    assert code == 1
    assert "nl.toml: web.code_wait: plural: {seconds:...} lacks the form for one" in output
    assert "en.toml: web.code_wait: plural: {seconds:...}: a plural needs an 'other' form" in output
    assert "en.toml: thread.redacting: plural: {days:.2f} is not a plural" in output
