"""Configuration: built-in defaults overlaid by the admin's TOML file.

Every setting has its default in ``bot/defaults.toml``; a config file only needs
the settings it changes. Paths in a config file are relative to that file.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bot.config_web import WebSettings

DURABILITY_MODES = ("handoff-synced", "all-synced", "os-buffered")
CONFIG_ENV = "VERTROUWD_CONFIG"
DATA_DIR_ENV = "VERTROUWD_DATA_DIR"
KEY_FILE_ENV = "VERTROUWD_KEY_FILE"
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
SINKS = ("local", "matrix")
LOG_FORMATS = ("text", "json")
_TABLE_LISTS = ("advisers", "emergency_routes", "referral_resources")
# Ids travel in button data (Telegram allows 64 bytes) and in locale keys.
_ID = re.compile(r"^[a-z0-9_-]{1,40}$")
_ID_RULE = "at most 40 lowercase letters, digits, '-' or '_'"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting."""


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
class OpsSettings:
    """The health, readiness and metrics listener."""

    listen: str
    port: int
    stuck_minutes: float  # a handoff or relay waiting longer makes /readyz red


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


def _get(table: dict[str, Any], section: str, key: str, kind: type) -> Any:
    value = table[section][key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{section}.{key}: must be a {kind.__name__}, got {value!r}")
    return value


def _positive(section: str, key: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{section}.{key}: must be greater than 0, got {value!r}")


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


def _report(raw: dict[str, Any]) -> ReportSettings:
    min_count = _get(raw, "report", "min_count", int)
    if min_count < 1:
        raise ConfigError("report.min_count: must be 1 or more (1 hides nothing)")
    return ReportSettings(min_count=min_count)


def _web(raw: dict[str, Any], base_dir: Path) -> WebSettings | None:
    from bot.config_web import web_settings

    return web_settings(raw, base_dir)


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


def _log_format(raw: dict[str, Any]) -> str:
    value = _get(raw, "log", "format", str)
    if value not in LOG_FORMATS:
        raise ConfigError(f"log.format: must be one of {', '.join(LOG_FORMATS)}")
    return str(value)


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


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
