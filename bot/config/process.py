"""How the process runs: ``[bot]`` (its folders, language, log level, text reloads),
``[log]`` and the ops listener ``[ops]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta

from bot.config.base import Section

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
