"""Configuration: every setting documented, and a bad one named before anything starts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec.inspect as mi
import pytest

from bot.config import Config, ConfigError, load_config
from bot.config.schema import unwrap
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


def schema_keys(kind: mi.Type, prefix: str = "") -> set[str]:
    """Every setting the schema declares, named as flat_keys names them."""
    kind, _ = unwrap(kind)
    keys = set()
    for field in kind.fields if isinstance(kind, mi.StructType) else ():
        inner, _ = unwrap(field.type)
        if isinstance(inner, mi.StructType):
            keys |= schema_keys(inner, f"{prefix}{field.encode_name}.")
        elif isinstance(inner, mi.VarTupleType) and isinstance(inner.item_type, mi.StructType):
            keys |= schema_keys(inner.item_type, f"{prefix}{field.encode_name}[].")
        else:
            keys.add(f"{prefix}{field.encode_name}")
    return keys


def test_the_example_config_documents_every_setting_of_the_schema_with_its_default():
    example_text = (ROOT / "config.example.toml").read_text()
    example = tomllib.loads(example_text)
    assert flat_keys(example) == schema_keys(mi.type_info(Config))
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
        (
            "[bot]\ndefault_langauge = 'en'\n",
            "bot.default_langauge: unknown setting (did you mean default_language?)",
        ),
        (
            "[limits]\nburst_messages = 'many'\n",
            "limits.burst_messages: must be a whole number, got 'many'",
        ),
        ("[retention]\ndraft_hours = 0\n", "retention.draft_hours: must be greater than 0"),
        (
            '[organisation]\ndays_off = ["24 December"]\n',
            "organisation.days_off[0]: '24 December' is not a date",
        ),
        (
            '[organisation]\npublic_holidays = "be"\n',
            "organisation.public_holidays: must be one of nl, none, got 'be'",
        ),
        ("[storage]\ndurability = 'yolo'\n", "storage.durability: must be one of"),
        ("advisers = []\n", "advisers: at least one"),
        ("[[advisers]]\nid = 'a'\n", "advisers[0].name: must be set"),
        ("[[advisers]]\nid='a'\nname='A'\n[[advisers]]\nid='a'\nname='B'\n", "share the same id"),
        ("[[advisers]]\nid = 'Sanne de Vries'\nname = 'S'\n", "advisers[0].id: must be at most"),
        (
            "[intake]\ntopics = ['" + "a" * 41 + "']\n",
            "intake.topics[0]: must be at most 40 lowercase letters",
        ),
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
            "allowed_homeservers[0]: must be a server name like example.org",
        ),
        ("emergency_routes = []\n", "emergency_routes: at least one"),
        ("[[emergency_routes]]\nname = '112'\n", "emergency_routes[0].description: must be set"),
        ("[[referral_resources]]\nname = ''\n", "referral_resources[0].name: must be a non-empty"),
        ("[bot\n", "not valid TOML"),
        ("[bot]\ndata_dir = 5\n", "bot.data_dir: must be a path in quotes, got 5"),
        ("[web]\nport = 99999\n", "web.port: 99999 is too large (at most 65535)"),
        ("[ops]\nport = 0\n", "ops.port: must be 1 or more, got 0"),
        ("[telegram]\nenabled = true\n", "telegram.token_file: needed when Telegram is on"),
        ("[telegram]\nenabled = 'yes'\n", "telegram.enabled: must be true or false, got 'yes'"),
        ("[telegarm]\nenabled = true\n", "telegarm: unknown setting (did you mean telegram?)"),
        (
            "[telegram.webhook]\nprot = 1\n",
            "telegram.webhook.prot: unknown setting (did you mean port?)",
        ),
        (
            "[[advisers]]\nid = 'a'\nname = 'A'\nphnoe = '1'\n",
            "advisers[0].phnoe: unknown setting (did you mean phone?)",
        ),
        (
            "[[advisers]]\nid='a'\nname='A'\nworking_hours='17:00-09:00'\n",
            "the end must come after",
        ),
        (
            "[[advisers]]\nid='a'\nname='A'\nworking_days=['sun','funday']\n",
            "advisers[0].working_days[1]: must be one of mon, tue, wed, thu, fri, sat, sun,"
            " got 'funday'",
        ),
        (
            "[admin]\nroom_id = '!r:example.org'\n",
            "admin.users: an admin room needs at least one admin",
        ),
        ("[web]\nenabled = true\ntrusted_proxies = ['not-an-ip']\n", "web.trusted_proxies:"),
        (
            "[web]\naccent_colour = 'blue'\n",
            "web.accent_colour: must be a colour like #1f5f8b, got 'blue'",
        ),
        ("bot = 5\n", "bot: must be a table, got 5"),
        (
            "[[advisers]]\nid = 'a'\nname = 'A'\nmatrix_user_id = '@bram'\n",
            "advisers[0].matrix_user_id: must be a Matrix id like @name:example.org, got '@bram'",
        ),
    ],
)
def test_a_bad_setting_is_named(tmp_path: Path, toml: str, message: str):
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(message)):
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
