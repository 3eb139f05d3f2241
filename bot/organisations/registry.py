"""The bureau's organisations as their files say, and the config each one runs with.

An organisation's config is the bureau's file with the organisation's tables laid over
it, checked by the same schema as any config; its data folder, key file and edited texts
are its own folder's, whatever the bureau's file or environment says."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from bot.config import Config, ConfigError
from bot.config.base import KEY_FILE_ENV, resolve
from bot.config.bureau import (
    ORGANISATION_TABLES,
    ORGANISATION_TELEGRAM_KEYS,
    ORGANISATION_WEB_KEYS,
    OrganisationEntry,
)
from bot.config.errors import describe
from bot.config.load import DATA_DIR_ENV, config_from_raw, config_path, read_raw
from bot.config.model import OrganisationConfig
from bot.config.secrets import TELEGRAM_TOKEN_ENV
from bot.organisations.folders import OrganisationFolder, folder_of

# An organisation never takes these from the bureau's environment: its data, key and
# bot token are its own (systemd's credentials are the bureau's too: see below).
_NOT_INHERITED_ENV = (DATA_DIR_ENV, KEY_FILE_ENV, TELEGRAM_TOKEN_ENV)
# The bureau's tables an organisation never inherits: its own admin room, its own bot.
_OWN_ONLY = ("admin",)


@dataclass(frozen=True)
class Organisation:
    folder: OrganisationFolder
    entry: OrganisationEntry
    tables: dict[str, Any]  # the tables its file sets, as written

    @property
    def id(self) -> str:
        return self.folder.id


def _read_file(folder: OrganisationFolder) -> dict[str, Any]:
    try:
        return tomllib.loads(folder.file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"organisation {folder.id}: {folder.file} is missing") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"organisation {folder.id}: {folder.file} cannot be read ({exc});"
            " fix it, or restore it from a backup"
        ) from exc


def read_organisation(folder: OrganisationFolder) -> Organisation:
    raw = _read_file(folder)
    entry_raw = raw.pop("org", None)
    if not isinstance(entry_raw, dict):
        raise ConfigError(f"organisation {folder.id}: {folder.file} has no [org] table")
    unknown = sorted(set(raw) - set(ORGANISATION_TABLES))
    if unknown:
        raise ConfigError(
            f"organisation {folder.id}: {folder.file} sets [{unknown[0]}], which belongs to"
            f" the bureau's config; an organisation sets {', '.join(ORGANISATION_TABLES)}"
        )
    for table, allowed in (
        ("web", ORGANISATION_WEB_KEYS),
        ("telegram", ORGANISATION_TELEGRAM_KEYS),
    ):
        extra = sorted(set(raw.get(table, {})) - set(allowed))
        if extra:
            raise ConfigError(
                f"organisation {folder.id}: {table}.{extra[0]} is the bureau's setting;"
                f" an organisation sets {', '.join(f'{table}.{k}' for k in allowed)}"
            )
    try:
        entry = msgspec.convert(entry_raw, OrganisationEntry)
    except msgspec.ValidationError as exc:
        refused = describe(exc, entry_raw, OrganisationEntry)
        raise ConfigError(
            f"organisation {folder.id}: {folder.file}: org.{refused};"
            " fix it, or restore the file from a backup"
        ) from None
    return Organisation(folder, entry, raw)


def organisation_ids(config: Config) -> list[str]:
    """The organisations with a folder, in name order (a folder being made or removed,
    whose name starts with a dot, is not one)."""
    root = config.organisations_dir
    if root.exists() and not root.is_dir():
        raise ConfigError(
            f"bureau.organisations_dir: {root} is a file, not a folder; name a folder there"
        )
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def organisations(config: Config) -> list[Organisation]:
    return [
        read_organisation(folder_of(config.organisations_dir, i)) for i in organisation_ids(config)
    ]


def find_organisation(config: Config, organisation_id: str) -> Organisation:
    if not config.bureau.enabled:
        raise ConfigError("--org: this config serves one organisation (no [bureau] enabled = true)")
    folder = folder_of(config.organisations_dir, organisation_id)
    if organisation_id.startswith(".") or "/" in organisation_id or not folder.root.is_dir():
        raise ConfigError(
            f"--org: no organisation {organisation_id!r}; `vertrouwd org list` shows them"
        )
    return read_organisation(folder)


def _placed_paths(tables: dict[str, Any], base: Path) -> dict[str, Any]:
    """The organisation's file paths, relative to its own folder."""
    placed = {
        name: dict(value) if isinstance(value, dict) else value for name, value in tables.items()
    }
    for table, key in (("telegram", "token_file"), ("web", "logo_file")):
        value = placed.get(table, {}).get(key)
        if isinstance(value, str) and value:
            placed[table][key] = str(resolve(base, Path(value)))
    return placed


def _merged(bureau: dict[str, Any], organisation: Organisation) -> dict[str, Any]:
    raw: dict[str, Any] = {
        name: dict(value) if isinstance(value, dict) else value
        for name, value in bureau.items()
        if name not in ("bureau", "matrix_dm", *_OWN_ONLY)
    }
    placed = _placed_paths(organisation.tables, organisation.folder.root)
    for name, value in placed.items():
        if isinstance(value, dict) and isinstance(raw.get(name), dict):
            raw[name] = {**raw[name], **value}
        else:
            raw[name] = value
    folder = organisation.folder
    raw["bot"] = {
        **raw.get("bot", {}),
        "data_dir": str(folder.data_dir),
        "texts_overrides_dir": str(folder.texts_dir),
    }
    raw["storage"] = {**raw.get("storage", {}), "key_file": str(folder.key_file)}
    # The bureau's bot is not the organisation's: only a token of its own makes one.
    own_telegram = placed.get("telegram", {})  # its token file found in its own folder
    raw["telegram"] = {**raw.get("telegram", {}), "enabled": bool(own_telegram.get("enabled"))}
    if own_telegram.get("enabled"):
        raw["telegram"]["token_file"] = own_telegram.get("token_file", "")
    web = raw.setdefault("web", {})
    if not organisation.tables.get("web", {}).get("public_url"):
        web["public_url"] = public_url(str(web.get("public_url", "")), organisation.entry)
    return raw


def public_url(bureau_url: str, entry: OrganisationEntry) -> str:
    """The organisation's own web address: its host name, else its path on the
    bureau's address ("" while the bureau's web chat has no public address)."""
    if not bureau_url:
        return ""
    scheme = bureau_url.split("://", 1)[0]
    if entry.web_host:
        return f"{scheme}://{entry.web_host}"
    return f"{bureau_url.rstrip('/')}/{entry.web_path}/"


def organisation_config(
    config_file: Path | None,
    organisation: Organisation,
    environ: Mapping[str, str] | None = None,
    *,
    bureau: Config | None = None,
) -> OrganisationConfig:
    """The config ``organisation`` runs with, under the bureau's file ``config_file``
    (``bureau``: that file loaded already, else it is loaded here)."""
    env = dict(os.environ if environ is None else environ)
    bureau_raw, base_dir = read_raw(config_path(config_file, env))
    if bureau is None:
        bureau = config_from_raw(bureau_raw, base_dir, env)
    for name in _NOT_INHERITED_ENV:
        env.pop(name, None)
    try:
        config = config_from_raw(_merged(bureau_raw, organisation), base_dir, env)
    except ConfigError as exc:
        # The bureau's own file was read and checked alone first: the setting is the
        # organisation's.
        raise ConfigError(
            f"organisation {organisation.id}: {organisation.folder.file}: {exc}"
        ) from None
    # A key the bureau's service was handed (LoadCredential=) is the bureau's, not this one's.
    storage = msgspec.structs.replace(config.storage, key_file=organisation.folder.key_file)
    fields = {name: getattr(config, name) for name in Config.__struct_fields__}
    return OrganisationConfig(
        **{**fields, "storage": storage},
        organisation_id=organisation.id,
        organisation_code=organisation.entry.code,
        bureau_config=bureau,
    )
