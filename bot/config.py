"""Configuration: built-in defaults overlaid by the admin's TOML file.

Every setting has its default in ``bot/defaults.toml``; a config file only needs
the settings it changes. Paths in a config file are relative to that file.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config_base import _ID as _ID
from bot.config_base import _ID_RULE as _ID_RULE
from bot.config_base import KEY_FILE_ENV as KEY_FILE_ENV
from bot.config_base import ConfigError as ConfigError
from bot.config_base import _get as _get
from bot.config_base import _positive as _positive
from bot.config_base import _resolve as _resolve
from bot.config_channels import MATRIX_PASSWORD_ENV as MATRIX_PASSWORD_ENV
from bot.config_channels import TELEGRAM_TOKEN_ENV as TELEGRAM_TOKEN_ENV
from bot.config_channels import AdminSettings as AdminSettings
from bot.config_channels import MatrixDmSettings as MatrixDmSettings
from bot.config_channels import MatrixSettings as MatrixSettings
from bot.config_channels import OpsSettings as OpsSettings
from bot.config_channels import TelegramSettings as TelegramSettings
from bot.config_channels import TelegramWebhook as TelegramWebhook
from bot.config_channels import _admin, _matrix, _matrix_dm, _ops, _telegram
from bot.config_channels import credential as credential

if TYPE_CHECKING:
    from bot.config_web import WebSettings

DURABILITY_MODES = ("handoff-synced", "all-synced", "os-buffered")
CONFIG_ENV = "VERTROUWD_CONFIG"
DATA_DIR_ENV = "VERTROUWD_DATA_DIR"
SINKS = ("local", "matrix")
LOG_FORMATS = ("text", "json")
_TABLE_LISTS = ("advisers", "emergency_routes", "referral_resources")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


@dataclass(frozen=True)
class WorkingHours:
    """When an adviser works: weekdays (0 is Monday) and a time span, in the
    organisation's time zone. Public holidays and days off come from the calendar."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    start_minute: int = 9 * 60
    end_minute: int = 17 * 60


@dataclass(frozen=True)
class Adviser:
    id: str
    name: str
    language: str
    profile: dict[str, str]
    matrix_user_id: str = ""
    room_id: str = ""
    hours: WorkingHours = WorkingHours()
    # The adviser's own ways in, for people who want no bot; optional.
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Resource:
    """An emergency route or a referral resource, as the admin describes it."""

    name: str
    description: dict[str, str]  # per language code

    def describe(self, lang: str, default_language: str) -> str:
        return self.description.get(lang) or self.description.get(default_language) or ""


@dataclass(frozen=True)
class IntakeSettings:
    topics: tuple[str, ...]
    description_max_chars: int
    name_max_chars: int
    reachable_max_chars: int


@dataclass(frozen=True)
class Aftercare:
    reply_reminder_working_days: int
    whistleblower_topics: tuple[str, ...]
    acknowledgement_days: int
    acknowledgement_reminder_days_before: int
    feedback_months: int
    feedback_reminder_days_before: int
    checkin_max_days: int


@dataclass(frozen=True)
class Retention:
    draft_hours: float
    closed_case_days: float
    idle_line_days: float
    audit_days: float
    redact_adviser_room_days: float  # 0: never
    purge_interval_minutes: float


@dataclass(frozen=True)
class Limits:
    message_max_chars: int
    burst_messages: int
    messages_per_minute: int


@dataclass(frozen=True)
class ReportSettings:
    # Counts below this show as "< N" in the annual report (and cells that would give
    # them away are hidden too).
    min_count: int = 5


@dataclass(frozen=True)
class Config:
    data_dir: Path
    locales_dir: Path
    default_language: str
    log_level: str
    texts_reload_seconds: float
    organisation_name: str
    contact_within_working_days: int
    timezone: str
    advisers: tuple[Adviser, ...]
    intake: IntakeSettings
    key_file: Path
    durability: str
    retention: Retention
    aftercare: Aftercare
    limits: Limits
    retry_initial_seconds: float
    retry_max_seconds: float
    # "nl": the Dutch national holidays are no working days; "none": only weekends.
    public_holidays: str = "nl"
    days_off: frozenset[date] = frozenset()
    emergency_routes: tuple[Resource, ...] = ()
    referral_resources: tuple[Resource, ...] = ()
    handoff_sink: str = "local"
    matrix: MatrixSettings | None = None
    telegram: TelegramSettings | None = None  # None: the channel is off
    matrix_dm: MatrixDmSettings | None = None  # None: the channel is off
    admin: AdminSettings | None = None  # None: no admin room
    report: ReportSettings = ReportSettings()
    web: WebSettings | None = None  # None: the web chat is off
    ops: OpsSettings | None = None  # None: no ops listener
    log_format: str = "text"  # or "json": one object per line

    @property
    def draft_hours(self) -> float:
        return self.retention.draft_hours

    def adviser_language(self, adviser_id: str) -> str:
        """The language the adviser reads the bot in (the default for one not configured)."""
        return next(
            (a.language for a in self.advisers if a.id == adviser_id), self.default_language
        )

    def adviser(self, adviser_id: str) -> Adviser:
        for adviser in self.advisers:
            if adviser.id == adviser_id:
                return adviser
        raise ConfigError(f"advisers: no adviser with id {adviser_id!r}")


def _public_holidays(raw: dict[str, Any]) -> str:
    value = _get(raw, "organisation", "public_holidays", str)
    if value not in ("nl", "none"):
        raise ConfigError('organisation.public_holidays: must be "nl" or "none"')
    return str(value)


def _days_off(raw: dict[str, Any]) -> frozenset[date]:
    listed = raw["organisation"]["days_off"]
    if not isinstance(listed, list):
        raise ConfigError("organisation.days_off: must be a list of dates (YYYY-MM-DD)")
    days = set()
    for item in listed:
        if isinstance(item, date):  # TOML has dates of its own
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError as exc:
            raise ConfigError(
                f"organisation.days_off: {item!r} is not a date (YYYY-MM-DD)"
            ) from exc
    return frozenset(days)


def _retention(raw: dict[str, Any]) -> Retention:
    values = {
        key: _get(raw, "retention", key, float)
        for key in (
            "draft_hours",
            "closed_case_days",
            "idle_line_days",
            "audit_days",
            "redact_adviser_room_days",
            "purge_interval_minutes",
        )
    }
    for key, value in values.items():
        if key != "redact_adviser_room_days":
            _positive("retention", key, value)
        elif value < 0:
            raise ConfigError("retention.redact_adviser_room_days: must be 0 (off) or more")
    return Retention(**values)


def _aftercare(raw: dict[str, Any], topics: tuple[str, ...]) -> Aftercare:
    numbers = {
        key: _get(raw, "aftercare", key, int)
        for key in (
            "reply_reminder_working_days",
            "acknowledgement_days",
            "acknowledgement_reminder_days_before",
            "feedback_months",
            "feedback_reminder_days_before",
            "checkin_max_days",
        )
    }
    for key, value in numbers.items():
        if value < 0 or (value == 0 and not key.endswith("days_before")):
            raise ConfigError(f"aftercare.{key}: must be greater than 0")
    listed = raw["aftercare"]["whistleblower_topics"]
    if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
        raise ConfigError("aftercare.whistleblower_topics: must be a list of topic ids")
    # A topic the intake does not ask about can never be chosen: it is left out.
    chosen = tuple(topic for topic in listed if topic in topics)
    return Aftercare(whistleblower_topics=chosen, **numbers)


def _defaults() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).parent / "defaults.toml").read_text(encoding="utf-8"))


def _merge(base: dict[str, Any], override: dict[str, Any], path: str = "") -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        where = f"{path}{key}"
        if key not in base:
            raise ConfigError(f"{where}: unknown setting (see config.example.toml)")
        if isinstance(base[key], dict) and key != "profile" and value is not None:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: must be a table")
            merged[key] = _merge(base[key], value, f"{where}.")
        else:
            merged[key] = value
    return merged


def _advisers(raw: Any) -> tuple[Adviser, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("advisers: at least one [[advisers]] entry is needed")
    advisers: list[Adviser] = []
    for index, entry in enumerate(raw):
        where = f"advisers[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        for key in ("id", "name"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ConfigError(f"{where}.{key}: must be a non-empty string")
        profile = entry.get("profile", {})
        if not isinstance(profile, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in profile.items()
        ):
            raise ConfigError(f"{where}.profile: must map language codes to text")
        for key in ("matrix_user_id", "room_id"):
            if not isinstance(entry.get(key, ""), str):
                raise ConfigError(f"{where}.{key}: must be a string")
        if not _ID.match(entry["id"]):
            raise ConfigError(f"{where}.id: must be {_ID_RULE}, got {entry['id']!r}")
        for key in ("phone", "email"):
            if not isinstance(entry.get(key, ""), str):
                raise ConfigError(f"{where}.{key}: must be a string")
        unknown = set(entry) - {
            "id",
            "name",
            "language",
            "profile",
            "matrix_user_id",
            "room_id",
            "working_days",
            "working_hours",
            "phone",
            "email",
        }
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown setting")
        advisers.append(
            Adviser(
                id=entry["id"],
                name=entry["name"],
                language=str(entry.get("language", "nl")),
                profile=dict(profile),
                matrix_user_id=entry.get("matrix_user_id", ""),
                room_id=entry.get("room_id", ""),
                hours=_working_hours(entry, where),
                phone=entry.get("phone", "").strip(),
                email=entry.get("email", "").strip(),
            )
        )
    ids = [a.id for a in advisers]
    if len(set(ids)) != len(ids):
        raise ConfigError("advisers: two advisers share the same id")
    return tuple(advisers)


def _working_hours(entry: dict[str, Any], where: str) -> WorkingHours:
    days = entry.get("working_days", list(WEEKDAYS[:5]))
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, str) and d in WEEKDAYS for d in days)
    ):
        raise ConfigError(f"{where}.working_days: must be a list of {', '.join(WEEKDAYS)}")
    span = entry.get("working_hours", "09:00-17:00")
    match = _HOURS.match(span) if isinstance(span, str) else None
    if match is None:
        raise ConfigError(f'{where}.working_hours: must be like "09:00-17:00", got {span!r}')
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if end <= start or end > 24 * 60:
        raise ConfigError(f"{where}.working_hours: the end must come after the start")
    return WorkingHours(tuple(sorted({WEEKDAYS.index(d) for d in days})), start, end)


def _resources(raw: Any, setting: str, required: bool) -> tuple[Resource, ...]:
    if not isinstance(raw, list) or (required and not raw):
        raise ConfigError(f"{setting}: at least one [[{setting}]] entry is needed")
    resources = []
    for index, entry in enumerate(raw):
        where = f"{setting}[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(entry) - {"name", "description"}
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown setting")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}.name: must be a non-empty string")
        description = entry.get("description")
        if (
            not isinstance(description, dict)
            or not description
            or not all(
                isinstance(k, str) and isinstance(v, str) and v.strip()
                for k, v in description.items()
            )
        ):
            raise ConfigError(f"{where}.description: must map language codes to text")
        resources.append(Resource(name=name, description=dict(description)))
    return tuple(resources)


def _report(raw: dict[str, Any]) -> ReportSettings:
    min_count = _get(raw, "report", "min_count", int)
    if min_count < 1:
        raise ConfigError("report.min_count: must be 1 or more (1 hides nothing)")
    return ReportSettings(min_count=min_count)


def _web(raw: dict[str, Any], base_dir: Path) -> WebSettings | None:
    from bot.config_web import web_settings

    return web_settings(raw, base_dir)


def _log_format(raw: dict[str, Any]) -> str:
    value = _get(raw, "log", "format", str)
    if value not in LOG_FORMATS:
        raise ConfigError(f"log.format: must be one of {', '.join(LOG_FORMATS)}")
    return str(value)


def default_locales_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "locales"


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Load the config at ``path`` (or ``$VERTROUWD_CONFIG``) over the defaults."""
    env = os.environ if environ is None else environ
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    raw = _defaults()
    base_dir = Path.cwd()
    if path is not None:
        try:
            user = tomllib.loads(path.read_text(encoding="utf-8"))
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
        # Lists of tables are replaced whole, never merged entry by entry.
        lists = {k: user.pop(k) for k in _TABLE_LISTS if k in user}
        raw = _merge(raw, user)
        raw.update(lists)
        base_dir = path.resolve().parent
    from bot.config_checks import check_config  # it builds on this module's types

    return check_config(_build(raw, base_dir, env))


def _build(raw: dict[str, Any], base_dir: Path, env: os._Environ[str] | dict[str, str]) -> Config:
    data_dir = _resolve(base_dir, env.get(DATA_DIR_ENV) or _get(raw, "bot", "data_dir", str))
    locales_value = _get(raw, "bot", "locales_dir", str)
    locales_dir = _resolve(base_dir, locales_value) if locales_value else default_locales_dir()
    key_value = env.get(KEY_FILE_ENV) or _get(raw, "storage", "key_file", str)
    key_file = _resolve(base_dir, key_value) if key_value else data_dir / "secret.key"
    if not env.get(KEY_FILE_ENV):
        key_file = credential(KEY_FILE_ENV, env) or key_file
    durability = _get(raw, "storage", "durability", str)
    if durability not in DURABILITY_MODES:
        raise ConfigError(f"storage.durability: must be one of {', '.join(DURABILITY_MODES)}")
    topics = raw["intake"]["topics"]
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
        raise ConfigError("intake.topics: must be a non-empty list of topic ids")
    for topic in topics:
        if not _ID.match(topic):
            raise ConfigError(f"intake.topics: {topic!r} is not a valid id ({_ID_RULE})")
    intake = IntakeSettings(
        topics=tuple(topics),
        description_max_chars=_get(raw, "intake", "description_max_chars", int),
        name_max_chars=_get(raw, "intake", "name_max_chars", int),
        reachable_max_chars=_get(raw, "intake", "reachable_max_chars", int),
    )
    limits = Limits(
        message_max_chars=_get(raw, "limits", "message_max_chars", int),
        burst_messages=_get(raw, "limits", "burst_messages", int),
        messages_per_minute=_get(raw, "limits", "messages_per_minute", int),
    )
    numbers = [
        ("intake", "description_max_chars", intake.description_max_chars),
        ("intake", "name_max_chars", intake.name_max_chars),
        ("intake", "reachable_max_chars", intake.reachable_max_chars),
        ("limits", "message_max_chars", limits.message_max_chars),
        ("limits", "burst_messages", limits.burst_messages),
        ("limits", "messages_per_minute", limits.messages_per_minute),
        ("outbox", "retry_initial_seconds", _get(raw, "outbox", "retry_initial_seconds", float)),
        ("outbox", "retry_max_seconds", _get(raw, "outbox", "retry_max_seconds", float)),
        ("bot", "texts_reload_seconds", _get(raw, "bot", "texts_reload_seconds", float)),
    ]
    for section, key, value in numbers:
        _positive(section, key, value)
    log_level = _get(raw, "bot", "log_level", str).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("bot.log_level: must be DEBUG, INFO, WARNING or ERROR")
    sink = _get(raw, "handoff", "sink", str)
    if sink not in SINKS:
        raise ConfigError(f"handoff.sink: must be one of {', '.join(SINKS)}")
    advisers = _advisers(raw["advisers"])
    matrix_dm = _matrix_dm(raw)
    admin = _admin(raw)
    needs_matrix = sink == "matrix" or matrix_dm is not None or admin is not None
    matrix = _matrix(raw, base_dir, needs_matrix, advisers, sink == "matrix")
    return Config(
        handoff_sink=sink,
        matrix=matrix,
        emergency_routes=_resources(raw["emergency_routes"], "emergency_routes", True),
        referral_resources=_resources(raw["referral_resources"], "referral_resources", False),
        telegram=_telegram(raw, base_dir),
        matrix_dm=matrix_dm,
        admin=admin,
        web=_web(raw, base_dir),
        ops=_ops(raw),
        log_format=_log_format(raw),
        data_dir=data_dir,
        locales_dir=locales_dir,
        default_language=_get(raw, "bot", "default_language", str),
        log_level=log_level,
        texts_reload_seconds=_get(raw, "bot", "texts_reload_seconds", float),
        organisation_name=_get(raw, "organisation", "name", str),
        contact_within_working_days=_get(raw, "organisation", "contact_within_working_days", int),
        timezone=_get(raw, "organisation", "timezone", str),
        public_holidays=_public_holidays(raw),
        days_off=_days_off(raw),
        advisers=advisers,
        intake=intake,
        key_file=key_file,
        durability=durability,
        retention=_retention(raw),
        aftercare=_aftercare(raw, intake.topics),
        limits=limits,
        retry_initial_seconds=_get(raw, "outbox", "retry_initial_seconds", float),
        retry_max_seconds=_get(raw, "outbox", "retry_max_seconds", float),
        report=_report(raw),
    )
