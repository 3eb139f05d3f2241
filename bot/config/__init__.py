"""The configuration, declared once: one typed struct per table of the config file,
with each setting's default and bounds beside it (``msgspec``), loaded and checked
whole for every command.

- ``base``: the error, the struct every table uses, and bounded types (ids, ports, URLs)
- one module per group of tables: ``process`` ([bot], [log], [ops]), ``organisation``
  ([organisation], [[advisers]], routes), ``conversation`` ([intake], [limits],
  [aftercare], [report]), ``storage`` ([storage], [retention], [outbox], [handoff]),
  ``matrix`` ([matrix], [matrix_dm], [admin]), ``telegram``, ``web``
- ``model``: the whole file as one ``Config``
- ``load``, ``checks``, ``errors``, ``schema``: reading a file, what no single type
  can check, and one clear line for what the schema refused
- ``secrets``: where tokens, passwords and the key file come from

Everything the rest of the bot needs is importable from here.
"""

from bot.config.base import KEY_FILE_ENV, ConfigError
from bot.config.conversation import Aftercare, IntakeSettings, Limits, ReportSettings
from bot.config.load import CONFIG_ENV, DATA_DIR_ENV, default_locales_dir, load_config
from bot.config.matrix import AdminSettings, MatrixDmSettings, MatrixSettings
from bot.config.model import Config
from bot.config.organisation import (
    WEEKDAYS,
    Adviser,
    OrganisationSettings,
    Resource,
    WorkingHours,
)
from bot.config.process import LOG_FORMATS, BotSettings, OpsSettings
from bot.config.secrets import MATRIX_PASSWORD_ENV, TELEGRAM_TOKEN_ENV, credential
from bot.config.storage import DURABILITY_MODES, Retention
from bot.config.telegram import TelegramSettings, TelegramWebhook
from bot.config.web import LOGO_TYPES, WebSettings

__all__ = [
    "CONFIG_ENV",
    "DATA_DIR_ENV",
    "DURABILITY_MODES",
    "KEY_FILE_ENV",
    "LOGO_TYPES",
    "LOG_FORMATS",
    "MATRIX_PASSWORD_ENV",
    "TELEGRAM_TOKEN_ENV",
    "WEEKDAYS",
    "AdminSettings",
    "Adviser",
    "Aftercare",
    "BotSettings",
    "Config",
    "ConfigError",
    "IntakeSettings",
    "Limits",
    "MatrixDmSettings",
    "MatrixSettings",
    "OpsSettings",
    "OrganisationSettings",
    "ReportSettings",
    "Resource",
    "Retention",
    "TelegramSettings",
    "TelegramWebhook",
    "WebSettings",
    "WorkingHours",
    "credential",
    "default_locales_dir",
    "load_config",
]
