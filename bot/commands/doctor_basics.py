"""The checks of `vertrouwd doctor` that need no homeserver: the config, the texts, the
key file, and each switched-on channel other than Matrix (Telegram, the web chat)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from bot.adapters.web.probe import web_chat_answers
from bot.config import Config, ConfigError
from bot.keys.crypto import FieldCipher, KeyFileError
from bot.keys.guard import keys_for_data
from bot.texts.catalog import TextsInvalid, catalog_of


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    found: str
    fix: str = ""


def basics(config: Config) -> tuple[list[Check], FieldCipher | None]:
    channels = [
        name
        for name, on in (
            ("telegram", config.telegram),
            ("matrix direct chats", config.matrix_dm),
            ("web chat", config.web),
            ("admin room", config.admin),
        )
        if on is not None
    ]
    checks = [
        Check(
            "configuration",
            True,
            f"handoff sink: {config.handoff.sink}; channels: {', '.join(channels) or 'none'}",
        )
    ]
    try:
        catalog_of(config)
        checks.append(Check("texts", True, str(config.locales_dir)))
    except TextsInvalid as exc:
        checks.append(
            Check(
                "texts",
                False,
                f"{len(exc.problems)} problem(s)",
                "run `vertrouwd texts check` and fix what it lists",
            )
        )
    try:
        cipher = FieldCipher(keys_for_data(config))
        checks.append(Check("key file", True, str(config.key_file)))
    except KeyFileError as exc:
        checks.append(Check("key file", False, str(exc), "restore the key file from backup"))
        cipher = None
    return checks, cipher


async def telegram_check(config: Config) -> Check:
    from telegram import Bot  # only loaded when the channel is on
    from telegram.error import InvalidToken, NetworkError

    assert config.telegram is not None
    name = "telegram"
    try:
        token = config.telegram_token()
    except ConfigError as exc:
        return Check(name, False, str(exc), "put the token from @BotFather in telegram.token_file")
    try:
        async with Bot(token, base_url=f"{config.telegram.api_base_url}/bot") as bot:
            return Check(name, True, f"@{bot.username}, {config.telegram.mode}")
    except InvalidToken:
        return Check(name, False, "the token was refused", "get the current token from @BotFather")
    except NetworkError as exc:
        return Check(
            name,
            False,
            f"no answer from {config.telegram.api_base_url} ({type(exc).__name__})",
            "check the network, or telegram.api_base_url",
        )


def _can_listen(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def web_check(config: Config) -> Check:
    web = config.web
    assert web is not None
    name, where = "web chat", f"{web.listen}:{web.port}"
    address = (
        f"employees use {web.public_url}"
        if web.public_url
        else "no web.public_url yet: the poster has no address, and the cookie is not Secure"
    )
    if _can_listen(web.listen, web.port):
        return Check(name, True, f"can listen on {where}; {address}")
    if await web_chat_answers(web.listen, web.port):
        return Check(name, True, f"served on {where} by the running bot; {address}")
    return Check(
        name,
        False,
        f"cannot listen on {where}: another program holds it",
        "choose another web.port, or stop that program",
    )


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        lines.append(f"{mark}  {check.name.ljust(width)}  {check.found}")
        if not check.ok and check.fix:
            lines.append(f"      {' ' * width}  fix: {check.fix}")
    return "\n".join(lines)


def organisations_check(config: Config, config_file: Path | None) -> Check:
    """A bureau's organisations: each one's file and settings can be used."""
    from bot.organisations.folders import folder_of
    from bot.organisations.registry import (
        organisation_config,
        organisation_ids,
        read_organisation,
    )

    active = suspended = 0
    broken: list[str] = []
    for organisation_id in organisation_ids(config):
        try:
            organisation = read_organisation(folder_of(config.organisations_dir, organisation_id))
            organisation_config(config_file, organisation)
        except ConfigError as exc:
            broken.append(str(exc))
            continue
        if organisation.entry.active:
            active += 1
        else:
            suspended += 1
    found = f"{active} active, {suspended} suspended, in {config.organisations_dir}"
    if broken:
        return Check(
            "organisations",
            False,
            f"{found}; {len(broken)} cannot be used: {broken[0]}",
            "fix the file named (or `vertrouwd org remove ID`); `vertrouwd org list` shows all",
        )
    return Check("organisations", True, found)
