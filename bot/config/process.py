"""How the process runs: ``[bot]`` (its folders, language, log level, text reloads),
``[log]`` and the ops listener ``[ops]``."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta

from bot.config.base import MaybeFile, Section
from bot.config.secrets import METRICS_TOKEN_ENV, has_secret, read_secret

LOG_FORMATS = ("text", "json")


class BotSettings(Section, frozen=True):
    data_dir: Path = Path("data")
    # The locale files; "" (the default) for those shipped with the bot.
    locales_dir: Path | None = None
    default_language: str = "nl"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"] = (
        "INFO"
    )
    texts_reload_seconds: Annotated[float, Meta(gt=0, le=86_400)] = 2.0
    # Edited texts over the locale files: a locale file here holds only the texts it
    # changes ("" for none; an organisation of a bureau has its own).
    texts_overrides_dir: Path | None = None


class LogSettings(Section, frozen=True):
    # "json": one object per line.
    format: Literal["text", "json"] = "text"


class OpsSettings(Section, frozen=True):
    """The health, readiness and metrics listener."""

    enabled: bool = False
    listen: Annotated[str, Meta(min_length=1, description='an address, e.g. "127.0.0.1"')] = (
        "127.0.0.1"
    )
    port: Annotated[int, Meta(ge=1, le=65535)] = 9464
    # A handoff or relay waiting longer makes /readyz red.
    stuck_minutes: Annotated[float, Meta(gt=0)] = 30.0
    # /metrics asks for this bearer token (needed when listen is not a loopback address).
    metrics_token_file: MaybeFile = None
    # /metrics shows the counts as they were at the last whole interval of the clock, so
    # nobody who sees a dashboard can time one person's request closer than that.
    metrics_every_minutes: Annotated[float, Meta(gt=0, le=1440)] = 60.0

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the listener."""
        if self.listen == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.listen).is_loopback
        except ValueError:
            return False

    def metrics_token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The bearer token /metrics asks for; None when none is set."""
        env = os.environ if environ is None else environ
        if not has_secret(METRICS_TOKEN_ENV, self.metrics_token_file, env):
            return None
        return read_secret(METRICS_TOKEN_ENV, self.metrics_token_file, _TOKEN_SETTING, env)


_TOKEN_SETTING = "ops.metrics_token_file"
