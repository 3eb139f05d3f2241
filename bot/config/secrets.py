"""Where the secrets come from: an environment variable, else the file systemd hands
over (LoadCredential=), else the file the config names. Never from the config itself."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from bot.config.base import KEY_FILE_ENV, ConfigError

MATRIX_PASSWORD_ENV = "VERTROUWD_MATRIX_PASSWORD"
TELEGRAM_TOKEN_ENV = "VERTROUWD_TELEGRAM_TOKEN"
METRICS_TOKEN_ENV = "VERTROUWD_METRICS_TOKEN"

# systemd's LoadCredential= puts secrets here (deploy/vertrouwd.service), by these names.
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
CREDENTIAL_NAMES = {
    MATRIX_PASSWORD_ENV: "matrix-password",
    TELEGRAM_TOKEN_ENV: "telegram-token",
    KEY_FILE_ENV: "secret.key",
    METRICS_TOKEN_ENV: "metrics-token",
}


def credential(env_name: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """The file systemd handed over for this secret (LoadCredential=), if there is one."""
    env = os.environ if environ is None else environ
    folder = env.get(CREDENTIALS_ENV)
    if not folder:
        return None
    path = Path(folder) / CREDENTIAL_NAMES[env_name]
    return path if path.is_file() else None


def has_secret(env_name: str, file: Path | None, environ: Mapping[str, str]) -> bool:
    """Whether a secret has a source at all (its value is read when it is used)."""
    return bool(environ.get(env_name) or file is not None or credential(env_name, environ))


def read_secret(
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
