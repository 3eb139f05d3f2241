"""Checks no single setting's type can make: settings that must agree, names that
must exist (a time zone, a language with its locale file, a proxy address) and paths
of the right kind. Each error names its setting."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.base import ConfigError
from bot.config.model import Config
from bot.config.secrets import METRICS_TOKEN_ENV, TELEGRAM_TOKEN_ENV, has_secret
from bot.config.telegram import TELEGRAM_API, TELEGRAM_WEBHOOK_PORTS
from bot.config.web import LOGO_TYPES


def _advisers(config: Config, env: Mapping[str, str]) -> None:
    ids = [adviser.id for adviser in config.advisers]
    if len(set(ids)) != len(ids):
        raise ConfigError("advisers: two advisers share the same id")
    for index, adviser in enumerate(config.advisers):
        hours = adviser.hours
        if hours.end_minute <= hours.start_minute:
            raise ConfigError(f"advisers[{index}].working_hours: the end must come after the start")


def _agreements(config: Config, env: Mapping[str, str]) -> None:
    outbox, aftercare = config.outbox, config.aftercare
    if outbox.retry_initial_seconds > outbox.retry_max_seconds:
        raise ConfigError(
            f"outbox.retry_initial_seconds: {outbox.retry_initial_seconds:g} is more than"
            f" outbox.retry_max_seconds ({outbox.retry_max_seconds:g})"
        )
    if aftercare.acknowledgement_reminder_days_before >= aftercare.acknowledgement_days:
        raise ConfigError(
            "aftercare.acknowledgement_reminder_days_before: must be less than"
            f" aftercare.acknowledgement_days ({aftercare.acknowledgement_days})"
        )


def _matrix(config: Config, env: Mapping[str, str]) -> None:
    admin = config.admin_section
    if admin.room_id and not admin.users:
        raise ConfigError("admin.users: an admin room needs at least one admin")
    if not config.needs_matrix:
        return
    matrix = config.matrix_section
    if not matrix.homeserver:
        raise ConfigError("matrix.homeserver: must be the homeserver's http(s) URL")
    if not matrix.user_id:
        raise ConfigError("matrix.user_id: must be a Matrix user id like @bot:example.org")
    if config.handoff.sink == "matrix":
        for index, adviser in enumerate(config.advisers):
            if not adviser.matrix_user_id:
                raise ConfigError(
                    f"advisers[{index}].matrix_user_id: needed with the Matrix handoff"
                )


def _telegram(config: Config, env: Mapping[str, str]) -> None:
    telegram = config.telegram
    if telegram is None:
        return
    hook = telegram.webhook
    if telegram.mode == "webhook":
        if not hook.public_url:
            raise ConfigError("telegram.webhook.public_url: needed in webhook mode, an https URL")
        if not hook.public_url.rstrip("/").endswith("/" + hook.path):
            raise ConfigError("telegram.webhook.public_url: must end with telegram.webhook.path")
        if telegram.api_base_url == TELEGRAM_API:
            _telegram_reaches(hook.public_url)
    if not has_secret(TELEGRAM_TOKEN_ENV, telegram.token_file, env):
        raise ConfigError(
            f"telegram.token_file: needed when Telegram is on (or set {TELEGRAM_TOKEN_ENV})"
        )


def _telegram_reaches(public_url: str) -> None:
    """Telegram's own Bot API posts updates only to https, on four ports."""
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            "telegram.webhook.public_url: Telegram sends updates only to an https:// URL"
        )
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise ConfigError("telegram.webhook.public_url: the port is not a number") from exc
    if port not in TELEGRAM_WEBHOOK_PORTS:
        raise ConfigError(
            f"telegram.webhook.public_url: Telegram sends updates only to port 443, 80, 88"
            f" or 8443, not {port} (the bot itself may listen on any telegram.webhook.port)"
        )


def _web(config: Config, env: Mapping[str, str]) -> None:
    web = config.web
    if web is None:
        return
    for address in web.trusted_proxies:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError as exc:
            raise ConfigError(f"web.trusted_proxies: {exc}") from exc
    if web.logo_file is not None:
        if web.logo_file.suffix.lower() not in LOGO_TYPES:
            raise ConfigError("web.logo_file: must be a .png, .jpg or .svg file")
        if not web.logo_file.is_file():
            raise ConfigError(f"web.logo_file: {web.logo_file} does not exist")


def _ops(config: Config, env: Mapping[str, str]) -> None:
    ops = config.ops
    if ops is None or ops.loopback:
        return
    if not has_secret(METRICS_TOKEN_ENV, ops.metrics_token_file, env):
        raise ConfigError(
            f"ops.listen: {ops.listen} can be reached from other machines, so /metrics needs"
            f" a bearer token: set ops.metrics_token_file (or {METRICS_TOKEN_ENV}), or listen"
            ' on "127.0.0.1"'
        )


def _timezone(config: Config, env: Mapping[str, str]) -> None:
    try:
        ZoneInfo(config.organisation.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"organisation.timezone: {config.organisation.timezone!r} is not a known time zone"
            " (for example Europe/Amsterdam)"
        ) from exc


def _languages(config: Config, env: Mapping[str, str]) -> None:
    folder = config.locales_dir
    if not folder.exists():
        raise ConfigError(f"bot.locales_dir: {folder} does not exist")
    if not folder.is_dir():
        raise ConfigError(f"bot.locales_dir: {folder} is not a folder")
    known = sorted(path.stem for path in folder.glob("*.toml") if not path.stem.startswith("."))
    listed = ", ".join(known) or "none"
    if config.bot.default_language not in known:
        raise ConfigError(
            f"bot.default_language: {config.bot.default_language!r} has no locale file in"
            f" {folder} (languages there: {listed})"
        )
    for index, adviser in enumerate(config.advisers):
        if adviser.language not in known:
            raise ConfigError(
                f"advisers[{index}].language: {adviser.language!r} has no locale file in"
                f" {folder} (languages there: {listed})"
            )


def _must_be(path: Path | None, setting: str, kind: str) -> None:
    """An existing path of the wrong kind is refused; a missing one is made (or asked
    for) where it is used."""
    if path is None or not path.exists():
        return
    if kind == "folder" and not path.is_dir():
        raise ConfigError(f"{setting}: {path} is not a folder")
    if kind == "file" and not path.is_file():
        raise ConfigError(f"{setting}: {path} is not a file")


def _paths(config: Config, env: Mapping[str, str]) -> None:
    _must_be(config.bot.data_dir, "bot.data_dir", "folder")
    _must_be(config.key_file, "storage.key_file", "file")
    if config.matrix is not None:
        _must_be(config.matrix.password_file, "matrix.password_file", "file")
    if config.telegram is not None:
        _must_be(config.telegram.token_file, "telegram.token_file", "file")
    _must_be(config.ops_section.metrics_token_file, "ops.metrics_token_file", "file")


_CHECKS: tuple[Callable[[Config, Mapping[str, str]], None], ...] = (
    _advisers,
    _agreements,
    _matrix,
    _telegram,
    _web,
    _ops,
    _timezone,
    _languages,
    _paths,
)


def check_config(config: Config, env: Mapping[str, str]) -> Config:
    """``config`` if it makes sense as a whole; else ConfigError naming the setting."""
    for check in _CHECKS:
        check(config, env)
    return config
