"""Checks of the loaded config that no single setting's type can make: bounds that
make sense, settings that must agree, names that must exist (a time zone, a language
with its locale file) and paths of the right kind. Each error names its setting.

Kept beside ``bot/config.py`` (which reads and types each setting) so that module
keeps its shape; a schema library would declare most of these with each setting.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Config, ConfigError

# Above these a value is a typo or a test of the bot, never a choice: refused.
_MAXIMA: dict[str, float] = {
    "organisation.contact_within_working_days": 60,
    "intake.description_max_chars": 100_000,
    "intake.name_max_chars": 1_000,
    "intake.reachable_max_chars": 10_000,
    "limits.message_max_chars": 100_000,
    "limits.burst_messages": 1_000_000,
    "limits.messages_per_minute": 1_000_000,
    "outbox.retry_initial_seconds": 86_400,
    "outbox.retry_max_seconds": 7 * 86_400,
    "bot.texts_reload_seconds": 86_400,
    "retention.draft_hours": 24 * 3_650,
    "retention.closed_case_days": 36_500,
    "retention.idle_line_days": 36_500,
    "retention.audit_days": 36_500,
    "retention.redact_adviser_room_days": 36_500,
    "retention.purge_interval_minutes": 10_080,
    "aftercare.reply_reminder_working_days": 260,
    "aftercare.acknowledgement_days": 365,
    "aftercare.acknowledgement_reminder_days_before": 365,
    "aftercare.feedback_months": 120,
    "aftercare.feedback_reminder_days_before": 3_650,
    "aftercare.checkin_max_days": 3_650,
}


def _values(config: Config) -> dict[str, float]:
    retention, aftercare = config.retention, config.aftercare
    return {
        "organisation.contact_within_working_days": config.contact_within_working_days,
        "intake.description_max_chars": config.intake.description_max_chars,
        "intake.name_max_chars": config.intake.name_max_chars,
        "intake.reachable_max_chars": config.intake.reachable_max_chars,
        "limits.message_max_chars": config.limits.message_max_chars,
        "limits.burst_messages": config.limits.burst_messages,
        "limits.messages_per_minute": config.limits.messages_per_minute,
        "outbox.retry_initial_seconds": config.retry_initial_seconds,
        "outbox.retry_max_seconds": config.retry_max_seconds,
        "bot.texts_reload_seconds": config.texts_reload_seconds,
        **{f"retention.{key}": value for key, value in vars(retention).items()},
        **{
            f"aftercare.{key}": value
            for key, value in vars(aftercare).items()
            if isinstance(value, int)
        },
    }


def _bounds(config: Config) -> None:
    for setting, value in _values(config).items():
        limit = _MAXIMA.get(setting)  # a setting added since has no bound here yet
        if limit is not None and value > limit:
            raise ConfigError(f"{setting}: {value!r} is too large (at most {limit:g})")
    if config.contact_within_working_days < 1:
        raise ConfigError(
            "organisation.contact_within_working_days: must be 1 or more,"
            f" got {config.contact_within_working_days!r}"
        )
    if config.retry_initial_seconds > config.retry_max_seconds:
        raise ConfigError(
            f"outbox.retry_initial_seconds: {config.retry_initial_seconds:g} is more than"
            f" outbox.retry_max_seconds ({config.retry_max_seconds:g})"
        )
    aftercare = config.aftercare
    if aftercare.acknowledgement_reminder_days_before >= aftercare.acknowledgement_days:
        raise ConfigError(
            "aftercare.acknowledgement_reminder_days_before: must be less than"
            f" aftercare.acknowledgement_days ({aftercare.acknowledgement_days})"
        )


def _timezone(config: Config) -> None:
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"organisation.timezone: {config.timezone!r} is not a known time zone"
            " (for example Europe/Amsterdam)"
        ) from exc


def _languages(config: Config) -> None:
    folder = config.locales_dir
    if not folder.exists():
        raise ConfigError(f"bot.locales_dir: {folder} does not exist")
    if not folder.is_dir():
        raise ConfigError(f"bot.locales_dir: {folder} is not a folder")
    known = sorted(path.stem for path in folder.glob("*.toml") if not path.stem.startswith("."))
    listed = ", ".join(known) or "none"
    if config.default_language not in known:
        raise ConfigError(
            f"bot.default_language: {config.default_language!r} has no locale file in"
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


def _paths(config: Config) -> None:
    _must_be(config.data_dir, "bot.data_dir", "folder")
    _must_be(config.key_file, "storage.key_file", "file")
    if config.matrix is not None:
        _must_be(config.matrix.password_file, "matrix.password_file", "file")
    if config.telegram is not None:
        _must_be(config.telegram.token_file, "telegram.token_file", "file")


def check_config(config: Config) -> Config:
    """``config`` if it makes sense as a whole; else ConfigError naming the setting."""
    _bounds(config)
    _timezone(config)
    _languages(config)
    _paths(config)
    return config
