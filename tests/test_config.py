"""Configuration: every setting documented, and a bad one named before anything starts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.conftest import ROOT, run_cli


def flat_keys(table: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in table.items():
        if isinstance(value, dict) and key != "profile":
            keys |= flat_keys(value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            keys |= {f"{prefix}{key}[].{k}" for item in value for k in item}
        else:
            keys.add(f"{prefix}{key}")
    return keys


def test_the_example_config_documents_every_setting_with_its_default():
    defaults = tomllib.loads((ROOT / "bot" / "defaults.toml").read_text())
    example_text = (ROOT / "config.example.toml").read_text()
    example = tomllib.loads(example_text)
    assert flat_keys(example) == flat_keys(defaults)
    assert example == defaults
    lines = example_text.splitlines()
    documented: set[str] = set()
    section = ""
    for number, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith((" ", "#", "]")):
            setting = f"{section}.{line.split('=')[0].strip()}"
            if setting not in documented:
                assert lines[number - 1].startswith("#"), f"no comment above: {line}"
                documented.add(setting)
    assert load_config(ROOT / "config.example.toml", environ={}) == load_config(None, environ={})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[bot]\ndefault_langauge = 'en'\n", "bot.default_langauge: unknown setting"),
        ("[limits]\nburst_messages = 'many'\n", "limits.burst_messages: must be a int"),
        ("[retention]\ndraft_hours = 0\n", "retention.draft_hours: must be greater than 0"),
        (
            '[organisation]\ndays_off = ["24 December"]\n',
            "organisation.days_off: '24 December' is not a date",
        ),
        ('[organisation]\npublic_holidays = "be"\n', 'organisation.public_holidays: must be "nl"'),
        ("[storage]\ndurability = 'yolo'\n", "storage.durability: must be one of"),
        ("advisers = []\n", "advisers: at least one"),
        ("[[advisers]]\nid = 'a'\n", "advisers[0].name: must be a non-empty string"),
        ("[[advisers]]\nid='a'\nname='A'\n[[advisers]]\nid='a'\nname='B'\n", "share the same id"),
        ("[[advisers]]\nid = 'Sanne de Vries'\nname = 'S'\n", "advisers[0].id: must be at most"),
        ("[intake]\ntopics = ['" + "a" * 41 + "']\n", "is not a valid id"),
        ("[telegram]\nenabled = true\nmode = 'push'\n", "telegram.mode: must be one of"),
        (
            "[telegram]\nenabled = true\nmode = 'webhook'\n",
            "telegram.webhook.public_url: needed in webhook mode",
        ),
        (
            "[telegram]\nenabled = true\nmode = 'webhook'\n[telegram.webhook]\n"
            "public_url = 'http://bot.example.org/telegram'\n",
            "telegram.webhook.public_url: Telegram sends updates only to an https:// URL",
        ),
        (
            "[telegram]\nenabled = true\nmode = 'webhook'\n[telegram.webhook]\n"
            "public_url = 'https://bot.example.org:8080/telegram'\n",
            "telegram.webhook.public_url: Telegram sends updates only to port 443, 80, 88 or 8443",
        ),
        ("[matrix_dm]\nenabled = true\n", "matrix.homeserver: must be"),
        (
            "[matrix_dm]\nenabled = true\nallowed_homeservers = ['https://x.org']\n",
            "server names like example.org",
        ),
        ("emergency_routes = []\n", "emergency_routes: at least one"),
        ("[[emergency_routes]]\nname = '112'\n", "emergency_routes[0].description: must map"),
        ("[[referral_resources]]\nname = ''\n", "referral_resources[0].name: must be a non-empty"),
        ("[bot\n", "not valid TOML"),
    ],
)
def test_a_bad_setting_is_named(tmp_path: Path, toml: str, message: str):
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, environ={})


def test_the_command_explains_a_bad_config_and_exits_without_a_traceback(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\ndata_dir = "{tmp_path}/data"\n[intake]\ntopics = ["weather"]\n')
    result = run_cli(["chat", "--jsonl", "--config", str(path)], stdin="")
    assert result.returncode == 2
    assert "intake.topics: topic 'weather' has no text 'topic.weather'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_telegram_token_comes_from_the_environment_before_the_file(tmp_path: Path):
    (tmp_path / "token").write_text("from-file\n")
    path = tmp_path / "config.toml"
    path.write_text("[telegram]\nenabled = true\ntoken_file = 'token'\n")
    settings = load_config(path, environ={}).telegram
    assert settings is not None
    assert settings.token(environ={}) == "from-file"
    assert settings.token(environ={"VERTROUWD_TELEGRAM_TOKEN": "from-env"}) == "from-env"
    (tmp_path / "token").unlink()
    with pytest.raises(ConfigError, match=r"telegram\.token_file: cannot read"):
        settings.token(environ={})


def test_a_missing_config_file_is_named(tmp_path: Path):
    result = run_cli(["inbox", "--config", str(tmp_path / "nope.toml")])
    assert result.returncode == 2
    assert "nope.toml does not exist" in result.stderr
