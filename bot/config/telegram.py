"""Telegram: ``[telegram]`` and its ``[telegram.webhook]``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from bot.config.base import HttpUrl, MaybeHttpUrl, Section
from bot.config.secrets import TELEGRAM_TOKEN_ENV, read_secret

TELEGRAM_MODES = ("polling", "webhook")
# Telegram's own Bot API posts updates only to HTTPS URLs on these ports; a self-hosted
# Bot API server (another telegram.api_base_url) takes any URL.
TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)


class TelegramWebhook(Section, frozen=True):
    listen: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8443
    path: str = "telegram"
    # Needed in webhook mode, and must end with path: checked then.
    public_url: MaybeHttpUrl = ""


class TelegramSettings(Section, frozen=True):
    enabled: bool = False
    # Needed when enabled, unless VERTROUWD_TELEGRAM_TOKEN or systemd's credential is set.
    token_file: Path | None = None
    api_base_url: HttpUrl = TELEGRAM_API
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout_seconds: Annotated[int, Meta(gt=0, le=600)] = 30
    max_messages_per_second: Annotated[float, Meta(gt=0)] = 30.0
    retries_after_429: Annotated[int, Meta(ge=0, le=100)] = 5
    webhook: TelegramWebhook = msgspec.field(default_factory=TelegramWebhook)

    def token(self, environ: Mapping[str, str] | None = None) -> str:
        """The bot token, from the environment or the token file."""
        return read_secret(TELEGRAM_TOKEN_ENV, self.token_file, "telegram.token_file", environ)
