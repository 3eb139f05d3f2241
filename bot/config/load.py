"""Loading the config: the admin's TOML file, checked whole against the schema.

A config file only needs the settings it changes; every other setting keeps the
default declared beside it. Paths in a config file are relative to that file. The
embedded default's advisers and routes (``embedded.toml``) stand in for lists the
file does not have; a list the file has replaces them whole.
"""

from __future__ import annotations

import copy
import functools
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi

from bot.config.base import KEY_FILE_ENV, ConfigError, resolve
from bot.config.checks import check_config
from bot.config.errors import describe
from bot.config.model import Config
from bot.config.schema import unset_empty_paths
from bot.config.secrets import credential
from bot.util.shipped import locales as shipped_locales
from bot.util.shipped import shipped

CONFIG_ENV = "VERTROUWD_CONFIG"
DATA_DIR_ENV = "VERTROUWD_DATA_DIR"
EMBEDDED = shipped("config", "embedded.toml")
_LISTS = ("advisers", "emergency_routes", "referral_resources")


def default_locales_dir() -> Path:
    return shipped_locales()


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"config file {path} is a folder; name the config file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from exc


def _path_hook(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value).expanduser()
    raise TypeError(f"Expected `{kind.__name__}`, got `{type(value).__name__}`")


@functools.cache
def _schema() -> mi.Type:
    return mi.type_info(Config)


@functools.cache
def _embedded() -> dict[str, Any]:
    return tomllib.loads(EMBEDDED.read_text(encoding="utf-8"))


def decode(raw: dict[str, Any]) -> Config:
    """The raw tables as a Config, or ConfigError naming the first setting refused."""
    for key in _LISTS:
        if key not in raw:
            raw[key] = copy.deepcopy(_embedded()[key])
    unset_empty_paths(raw, _schema())
    try:
        return msgspec.convert(raw, Config, dec_hook=_path_hook)
    except msgspec.ValidationError as exc:
        raise ConfigError(describe(exc, raw, Config)) from None


def _placed(config: Config, base_dir: Path, env: Mapping[str, str]) -> Config:
    """Paths made absolute (the environment's overrides first), URLs without a trailing
    slash, the log level in capitals, the colour in lowercase."""
    replace = msgspec.structs.replace
    bot, storage = config.bot, config.storage
    data_dir = resolve(base_dir, Path(env[DATA_DIR_ENV]) if env.get(DATA_DIR_ENV) else bot.data_dir)
    locales = resolve(base_dir, bot.locales_dir) if bot.locales_dir else default_locales_dir()
    if env.get(KEY_FILE_ENV):
        key_file = resolve(base_dir, Path(env[KEY_FILE_ENV]))
    else:
        configured = resolve(base_dir, storage.key_file) if storage.key_file else None
        key_file = credential(KEY_FILE_ENV, env) or configured or data_dir / "secret.key"
    matrix, telegram, web = config.matrix_section, config.telegram_section, config.web_section
    ops = config.ops_section

    def placed(path: Path | None) -> Path | None:
        return resolve(base_dir, path) if path is not None else None

    return replace(
        config,
        bot=replace(
            bot,
            data_dir=data_dir,
            locales_dir=locales,
            log_level=bot.log_level.upper(),
            texts_overrides_dir=placed(bot.texts_overrides_dir),
        ),
        bureau=replace(config.bureau, organisations_dir=placed(config.bureau.organisations_dir)),
        storage=replace(storage, key_file=key_file),
        matrix_section=replace(
            matrix,
            homeserver=matrix.homeserver.rstrip("/"),
            password_file=placed(matrix.password_file),
        ),
        telegram_section=replace(
            telegram,
            api_base_url=telegram.api_base_url.rstrip("/"),
            token_file=placed(telegram.token_file),
            webhook=replace(telegram.webhook, path=telegram.webhook.path.strip("/")),
        ),
        ops_section=replace(ops, metrics_token_file=placed(ops.metrics_token_file)),
        web_section=replace(
            web,
            public_url=web.public_url.rstrip("/"),
            logo_file=placed(web.logo_file),
            accent_colour=web.accent_colour.lower(),
        ),
    )


def config_path(path: Path | None, env: Mapping[str, str]) -> Path | None:
    """The config file named, or ``$VERTROUWD_CONFIG``; None for the built-in defaults."""
    if path is None and env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return path


def read_raw(path: Path | None) -> tuple[dict[str, Any], Path]:
    """The file's tables as written, and the folder its relative paths start from."""
    raw = _read(path) if path is not None else {}
    return raw, path.resolve().parent if path is not None else Path.cwd()


def config_from_raw(raw: dict[str, Any], base_dir: Path, env: Mapping[str, str]) -> Config:
    return check_config(_placed(decode(raw), base_dir, env), env)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load the config at ``path`` (or ``$VERTROUWD_CONFIG``), checked as a whole."""
    env = os.environ if environ is None else environ
    raw, base_dir = read_raw(config_path(path, env))
    return config_from_raw(raw, base_dir, env)
