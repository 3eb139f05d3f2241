"""The settings of the channels and services the bot talks to (Matrix, Telegram, the
admin room, the ops listener), and where their secrets come from."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.config_base import KEY_FILE_ENV, ConfigError, _get, _positive, _resolve

if TYPE_CHECKING:
    from bot.config import Adviser

MATRIX_PASSWORD_ENV = "VERTROUWD_MATRIX_PASSWORD"


TELEGRAM_TOKEN_ENV = "VERTROUWD_TELEGRAM_TOKEN"


# systemd's LoadCredential= puts secrets here (deploy/vertrouwd.service), by these names.
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"


CREDENTIAL_NAMES = {
    MATRIX_PASSWORD_ENV: "matrix-password",
    TELEGRAM_TOKEN_ENV: "telegram-token",
    KEY_FILE_ENV: "secret.key",
}


TELEGRAM_MODES = ("polling", "webhook")


@dataclass(frozen=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    password_file: Path | None
    device_name: str
    request_timeout_seconds: float
    poll_seconds: int = 10

    def password(self, environ: Mapping[str, str] | None = None) -> str:
        """The bot account's password, from the environment or the password file."""
        return _secret(MATRIX_PASSWORD_ENV, self.password_file, "matrix.password_file", environ)


def credential(env_name: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """The file systemd handed over for this secret (LoadCredential=), if there is one."""
    env = os.environ if environ is None else environ
    folder = env.get(CREDENTIALS_ENV)
    if not folder:
        return None
    path = Path(folder) / CREDENTIAL_NAMES[env_name]
    return path if path.is_file() else None


def _secret(
    env_name: str, file: Path | None, setting: str, environ: Mapping[str, str] | None
) -> str:
    """From the environment variable, else systemd's credential, else the file named."""
    env = os.environ if environ is None else environ
    if env.get(env_name):
        return env[env_name]
    file = credential(env_name, env) or file
    if file is None:
        raise ConfigError(f"{setting}: not set, and {env_name} is not set either")
    try:
        readable_by_others = file.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH)
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {file}") from exc
    if readable_by_others:
        raise ConfigError(f"{setting}: {file} can be read by other users; run: chmod 600 {file}")
    try:
        value = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {file}") from exc
    if not value:
        raise ConfigError(f"{setting}: {file} is empty")
    return value


@dataclass(frozen=True)
class TelegramWebhook:
    listen: str
    port: int
    path: str
    public_url: str


@dataclass(frozen=True)
class TelegramSettings:
    token_file: Path | None
    api_base_url: str
    mode: str
    poll_timeout_seconds: int
    max_messages_per_second: float
    retries_after_429: int
    webhook: TelegramWebhook

    def token(self, environ: Mapping[str, str] | None = None) -> str:
        """The bot token, from the environment or the token file."""
        return _secret(TELEGRAM_TOKEN_ENV, self.token_file, "telegram.token_file", environ)


@dataclass(frozen=True)
class MatrixDmSettings:
    # Server names whose users may talk to the bot; the bot's own when none are set.
    allowed_homeservers: tuple[str, ...]


@dataclass(frozen=True)
class AdminSettings:
    users: tuple[str, ...]
    room_id: str


@dataclass(frozen=True)
class OpsSettings:
    """The health, readiness and metrics listener."""

    listen: str
    port: int
    stuck_minutes: float  # a handoff or relay waiting longer makes /readyz red


def _matrix(
    raw: dict[str, Any],
    base_dir: Path,
    required: bool,
    advisers: tuple[Adviser, ...],
    for_handoff: bool,
) -> MatrixSettings | None:
    homeserver = _get(raw, "matrix", "homeserver", str)
    user_id = _get(raw, "matrix", "user_id", str)
    if not required:
        return None
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigError("matrix.homeserver: must be the homeserver's http(s) URL")
    if not (user_id.startswith("@") and ":" in user_id):
        raise ConfigError("matrix.user_id: must be a Matrix user id like @bot:example.org")
    for index, adviser in enumerate(advisers if for_handoff else ()):
        if not adviser.matrix_user_id.startswith("@"):
            raise ConfigError(f"advisers[{index}].matrix_user_id: needed with the Matrix handoff")
    password_file = _get(raw, "matrix", "password_file", str)
    timeout = _get(raw, "matrix", "request_timeout_seconds", float)
    _positive("matrix", "request_timeout_seconds", timeout)
    poll_seconds = _get(raw, "matrix", "poll_seconds", int)
    _positive("matrix", "poll_seconds", poll_seconds)
    return MatrixSettings(
        homeserver=homeserver.rstrip("/"),
        user_id=user_id,
        password_file=_resolve(base_dir, password_file) if password_file else None,
        device_name=_get(raw, "matrix", "device_name", str),
        request_timeout_seconds=timeout,
        poll_seconds=poll_seconds,
    )


# Telegram's own Bot API posts updates only to HTTPS URLs on these ports; a self-hosted
# Bot API server (another telegram.api_base_url) takes any URL.
TELEGRAM_API = "https://api.telegram.org"


TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)


def _check_webhook_url(api: str, public_url: str) -> None:
    if api.rstrip("/") != TELEGRAM_API:
        return
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


def _telegram(raw: dict[str, Any], base_dir: Path) -> TelegramSettings | None:
    if not _get(raw, "telegram", "enabled", bool):
        return None
    mode = _get(raw, "telegram", "mode", str)
    if mode not in TELEGRAM_MODES:
        raise ConfigError(f"telegram.mode: must be one of {', '.join(TELEGRAM_MODES)}")
    api = _get(raw, "telegram", "api_base_url", str).rstrip("/")
    if not api.startswith(("http://", "https://")):
        raise ConfigError("telegram.api_base_url: must be an http(s) URL")
    hook = raw["telegram"]["webhook"]
    webhook = TelegramWebhook(
        listen=_get({"w": hook}, "w", "listen", str),
        port=_get({"w": hook}, "w", "port", int),
        path=_get({"w": hook}, "w", "path", str).strip("/"),
        public_url=_get({"w": hook}, "w", "public_url", str),
    )
    if not 0 < webhook.port < 65536:
        raise ConfigError(f"telegram.webhook.port: must be a port number, got {webhook.port}")
    if mode == "webhook":
        if not webhook.public_url.startswith(("https://", "http://")):
            raise ConfigError("telegram.webhook.public_url: needed in webhook mode, an https URL")
        if not webhook.public_url.rstrip("/").endswith("/" + webhook.path):
            raise ConfigError("telegram.webhook.public_url: must end with telegram.webhook.path")
        _check_webhook_url(api, webhook.public_url)
    token_file = _get(raw, "telegram", "token_file", str)
    settings = TelegramSettings(
        token_file=_resolve(base_dir, token_file) if token_file else None,
        api_base_url=api,
        mode=mode,
        poll_timeout_seconds=_get(raw, "telegram", "poll_timeout_seconds", int),
        max_messages_per_second=_get(raw, "telegram", "max_messages_per_second", float),
        retries_after_429=_get(raw, "telegram", "retries_after_429", int),
        webhook=webhook,
    )
    _positive("telegram", "poll_timeout_seconds", settings.poll_timeout_seconds)
    _positive("telegram", "max_messages_per_second", settings.max_messages_per_second)
    if settings.retries_after_429 < 0:
        raise ConfigError("telegram.retries_after_429: must be 0 or more")
    return settings


def _matrix_dm(raw: dict[str, Any]) -> MatrixDmSettings | None:
    if not _get(raw, "matrix_dm", "enabled", bool):
        return None
    servers = raw["matrix_dm"]["allowed_homeservers"]
    if not isinstance(servers, list) or not all(isinstance(s, str) and s for s in servers):
        raise ConfigError("matrix_dm.allowed_homeservers: must be a list of server names")
    if any("/" in s or "@" in s for s in servers):
        raise ConfigError(
            "matrix_dm.allowed_homeservers: server names like example.org, not URLs or user ids"
        )
    own_server = _get(raw, "matrix", "user_id", str).partition(":")[2]
    return MatrixDmSettings(
        allowed_homeservers=tuple(servers) or ((own_server,) if own_server else ()),
    )


def _admin(raw: dict[str, Any]) -> AdminSettings | None:
    room_id = _get(raw, "admin", "room_id", str)
    users = raw["admin"]["users"]
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        raise ConfigError("admin.users: must be a list of Matrix ids")
    for user in users:
        if not (user.startswith("@") and ":" in user):
            raise ConfigError(f"admin.users: {user!r} is not a Matrix id like @name:example.org")
    if not room_id:
        return None
    if not room_id.startswith("!"):
        raise ConfigError("admin.room_id: must be a room id like !abc:example.org")
    if not users:
        raise ConfigError("admin.users: an admin room needs at least one admin")
    return AdminSettings(users=tuple(users), room_id=room_id)


def _ops(raw: dict[str, Any]) -> OpsSettings | None:
    if not _get(raw, "ops", "enabled", bool):
        return None
    port = _get(raw, "ops", "port", int)
    if not 0 < port < 65536:
        raise ConfigError(f"ops.port: must be a port number, got {port}")
    stuck = _get(raw, "ops", "stuck_minutes", float)
    _positive("ops", "stuck_minutes", stuck)
    listen = _get(raw, "ops", "listen", str)
    if not listen:
        raise ConfigError('ops.listen: must be an address, e.g. "127.0.0.1"')
    return OpsSettings(listen=listen, port=port, stuck_minutes=stuck)
