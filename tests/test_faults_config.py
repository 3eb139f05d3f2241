"""A config that makes no sense stops the start with one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.faults import one_error_line

CASES = [
    ('[organisation]\ntimezone = "Mars/Olympus"\n', "organisation.timezone: 'Mars/Olympus'"),
    ('[organisation]\ntimezone = "../../etc/passwd"\n', "organisation.timezone:"),
    ("[organisation]\ncontact_within_working_days = -3\n", "contact_within_working_days: must"),
    ("[limits]\nmessage_max_chars = 99999999999999999\n", "limits.message_max_chars: 99999"),
    ("[retention]\nclosed_case_days = 1e9\n", "retention.closed_case_days: 1000000000.0 is too"),
    (
        "[outbox]\nretry_initial_seconds = 700\nretry_max_seconds = 600\n",
        "outbox.retry_initial_seconds: 700 is more than outbox.retry_max_seconds (600)",
    ),
    (
        "[aftercare]\nacknowledgement_days = 2\nacknowledgement_reminder_days_before = 5\n",
        "aftercare.acknowledgement_reminder_days_before: must be less than",
    ),
    ('[bot]\ndefault_language = "xx"\n', "bot.default_language: 'xx' has no locale file"),
    (
        "[[advisers]]\nid = 'anna'\nname = 'Anna'\nlanguage = 'xx'\n",
        "advisers[0].language: 'xx' has no locale file",
    ),
    ('[bot]\nlocales_dir = "no-such-folder"\n', "bot.locales_dir: "),
    ('[storage]\nkey_file = "a-folder"\n', "storage.key_file: "),
    ('[bot]\ndata_dir = "a-file"\n', "bot.data_dir: "),
]


@pytest.mark.parametrize(("toml", "message"), CASES)
def test_nonsense_is_refused_naming_the_setting(tmp_path: Path, toml: str, message: str):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("not a folder\n")
    config = tmp_path / "config.toml"
    data = "" if "data_dir" in toml else '[bot]\ndata_dir = "data"\n'
    if data and toml.startswith("[bot]"):
        toml = toml.replace("[bot]\n", "")
    config.write_text(data + toml)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli(["chat", "--jsonl", "--config", str(config)], timeout=30)
    assert result.returncode == 2
    assert message in one_error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no data folder made


def test_a_config_that_is_not_utf8_or_a_folder_is_named(tmp_path: Path):
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('[organisation]\nname = "Café"\n'.encode("latin-1"))
    result = run_cli(["inbox", "--config", str(latin)])
    assert result.returncode == 2
    assert f"config file {latin}: not UTF-8" in one_error_line(result)
    result = run_cli(["inbox", "--config", str(tmp_path)])
    assert result.returncode == 2
    assert f"config file {tmp_path} is a folder" in one_error_line(result)
