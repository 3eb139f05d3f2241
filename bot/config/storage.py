"""Where data lives and how long: ``[storage]``, ``[retention]``, ``[outbox]`` and
``[handoff]`` (where a confirmed intake goes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta

from bot.config.base import Section

DURABILITY_MODES = ("handoff-synced", "all-synced", "os-buffered")


class StorageSettings(Section, frozen=True):
    # "" (the default): secret.key in the data folder.
    key_file: Path | None = None
    durability: Literal["handoff-synced", "all-synced", "os-buffered"] = "handoff-synced"


class Retention(Section, frozen=True):
    draft_hours: Annotated[float, Meta(gt=0, le=24 * 3_650)] = 72.0
    closed_case_days: Annotated[float, Meta(gt=0, le=36_500)] = 30.0
    idle_line_days: Annotated[float, Meta(gt=0, le=36_500)] = 180.0
    audit_days: Annotated[float, Meta(gt=0, le=36_500)] = 365.0
    redact_adviser_room_days: Annotated[float, Meta(ge=0, le=36_500)] = 0.0  # 0: never
    purge_interval_minutes: Annotated[float, Meta(gt=0, le=10_080)] = 10.0


class OutboxSettings(Section, frozen=True):
    # At most retry_max_seconds: checked when the config loads.
    retry_initial_seconds: Annotated[float, Meta(gt=0, le=86_400)] = 2.0
    retry_max_seconds: Annotated[float, Meta(gt=0, le=7 * 86_400)] = 600.0


class HandoffSettings(Section, frozen=True):
    sink: Literal["local", "matrix"] = "local"
