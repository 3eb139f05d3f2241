"""The whole configuration: one field per table of the config file, and the views the
rest of the bot reads (a channel that is off is ``None``; a path is resolved)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from bot.config.base import ConfigError, Section
from bot.config.bureau import BureauSettings
from bot.config.conversation import Aftercare, IntakeSettings, Limits, ReportSettings
from bot.config.matrix import AdminSettings, MatrixDmSettings, MatrixSettings
from bot.config.organisation import (
    Adviser,
    Advisers,
    EmergencyRoutes,
    OrganisationSettings,
    Resource,
)
from bot.config.process import BotSettings, LogSettings, OpsSettings
from bot.config.storage import HandoffSettings, OutboxSettings, Retention, StorageSettings
from bot.config.telegram import TelegramSettings
from bot.config.web import WebSettings

_field = msgspec.field


class Config(Section, frozen=True, kw_only=True):
    """The config file's tables, in its order. The channels' tables are named
    ``*_section``: the name without it is the view that is ``None`` when switched off."""

    bot: BotSettings = _field(default_factory=BotSettings)
    organisation: OrganisationSettings = _field(default_factory=OrganisationSettings)
    # The embedded default's advisers and routes come from bot/config/embedded.toml.
    advisers: Advisers
    emergency_routes: EmergencyRoutes
    referral_resources: tuple[Resource, ...] = ()
    handoff: HandoffSettings = _field(default_factory=HandoffSettings)
    matrix_section: MatrixSettings = _field(default_factory=MatrixSettings, name="matrix")
    admin_section: AdminSettings = _field(default_factory=AdminSettings, name="admin")
    telegram_section: TelegramSettings = _field(default_factory=TelegramSettings, name="telegram")
    matrix_dm_section: MatrixDmSettings = _field(default_factory=MatrixDmSettings, name="matrix_dm")
    intake: IntakeSettings = _field(default_factory=IntakeSettings)
    storage: StorageSettings = _field(default_factory=StorageSettings)
    aftercare: Aftercare = _field(default_factory=Aftercare)
    retention: Retention = _field(default_factory=Retention)
    limits: Limits = _field(default_factory=Limits)
    outbox: OutboxSettings = _field(default_factory=OutboxSettings)
    report: ReportSettings = _field(default_factory=ReportSettings)
    web_section: WebSettings = _field(default_factory=WebSettings, name="web")
    log: LogSettings = _field(default_factory=LogSettings)
    ops_section: OpsSettings = _field(default_factory=OpsSettings, name="ops")
    bureau: BureauSettings = _field(default_factory=BureauSettings)

    # The channels and services, None when switched off.

    @property
    def telegram(self) -> TelegramSettings | None:
        return self.telegram_section if self.telegram_section.enabled else None

    @property
    def matrix_dm(self) -> MatrixDmSettings | None:
        section = self.matrix_dm_section
        if not section.enabled:
            return None
        if section.allowed_homeservers:
            return section
        own_server = self.matrix_section.user_id.partition(":")[2]
        return msgspec.structs.replace(
            section, allowed_homeservers=(own_server,) if own_server else ()
        )

    @property
    def admin(self) -> AdminSettings | None:
        return self.admin_section if self.admin_section.room_id else None

    @property
    def matrix(self) -> MatrixSettings | None:
        """The bot's Matrix account, when the handoff, direct chats or an admin room use it."""
        return self.matrix_section if self.needs_matrix else None

    @property
    def needs_matrix(self) -> bool:
        return (
            self.handoff.sink == "matrix"
            or self.matrix_dm_section.enabled
            or bool(self.admin_section.room_id)
            # A bureau's account serves its organisations' rooms (their admin rooms, say),
            # whatever the bureau's own tables use.
            or (self.bureau.enabled and bool(self.matrix_section.user_id))
        )

    @property
    def web(self) -> WebSettings | None:
        return self.web_section if self.web_section.enabled else None

    @property
    def ops(self) -> OpsSettings | None:
        return self.ops_section if self.ops_section.enabled else None

    # The two paths whose default is not a value of their own: resolved when loading.

    @property
    def organisations_dir(self) -> Path:
        """Where a bureau's organisations have their folders."""
        return self.bureau.organisations_dir or self.bot.data_dir / "organisations"

    @property
    def locales_dir(self) -> Path:
        assert self.bot.locales_dir is not None, "resolved when the config loads"
        return self.bot.locales_dir

    @property
    def key_file(self) -> Path:
        assert self.storage.key_file is not None, "resolved when the config loads"
        return self.storage.key_file

    def telegram_token(self) -> str:
        """The Telegram bot's token."""
        assert self.telegram is not None
        return self.telegram.token()

    def adviser_language(self, adviser_id: str) -> str:
        """The language the adviser reads the bot in (the default for one not configured)."""
        return next(
            (a.language for a in self.advisers if a.id == adviser_id), self.bot.default_language
        )

    @property
    def matrix_account(self) -> Config:
        """The config whose data folder and key file hold the Matrix login (its device,
        its encryption store, the pinned identities): this one's, except in a bureau."""
        return self

    def adviser(self, adviser_id: str) -> Adviser:
        for adviser in self.advisers:
            if adviser.id == adviser_id:
                return adviser
        raise ConfigError(f"advisers: no adviser with id {adviser_id!r}")


class OrganisationConfig(Config, frozen=True, kw_only=True):
    """The config one organisation of a bureau runs with: the bureau's file with the
    organisation's own tables over it, and who it is (never read from a file)."""

    organisation_id: str
    organisation_code: str
    # The bureau's own config: its one Matrix account serves every organisation.
    bureau_config: Config | None = None

    @property
    def matrix_account(self) -> Config:
        """The bureau's: one login and one device for all its organisations, its state
        sealed with the bureau's key in the bureau's data folder (never a new device
        per organisation)."""
        return self.bureau_config or self

    def telegram_token(self) -> str:
        """Its own bot's token, from its own file only: the environment and systemd's
        credentials hold the bureau's bot."""
        assert self.telegram is not None
        return self.telegram.token(environ={})
