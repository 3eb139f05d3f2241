"""The config file `vertrouwd init` writes: the documented example, filled in.

Edited with tomlkit, so every comment of the example (and of the admin) stays. A
setting this version does not know yet (an adviser's working hours, say) is kept as
a comment instead, so the file still loads.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Comment, Table, Whitespace

from bot.config import Config, ConfigError, load_config
from bot.config.load import EMBEDDED
from bot.first_run.answers import OPTIONAL_ADVISER_SETTINGS, AdviserAnswer, Answers
from bot.first_run.hours import parse_working_hours
from bot.util.shipped import example_config

EXAMPLE = example_config()
_LATER = "(a setting of a newer vertrouwd)"


def load_document(path: Path) -> tomlkit.TOMLDocument:
    """The answers a stopped run left, else the config so far, else the documented
    example (the defaults, where the example is not installed)."""
    source = next(p for p in (resumed_from(path), path, EXAMPLE, EMBEDDED) if p and p.exists())
    try:
        return tomlkit.parse(source.read_text(encoding="utf-8"))
    except (OSError, tomlkit.exceptions.ParseError) as exc:
        raise ConfigError(f"config file {source}: cannot be read as TOML ({exc})") from exc


def _table(doc: tomlkit.TOMLDocument, name: str) -> Table:
    if name not in doc:
        doc[name] = tomlkit.table()
    table = doc[name]
    assert isinstance(table, Table)
    return table


def _set(table: Table, key: str, value: Any) -> None:
    """Only when it differs: an unchanged value keeps its exact layout."""
    if table.get(key) != value:
        table[key] = value


def _comment_text(key: str, value: str) -> str:
    return f"# {key} = {tomlkit.string(value).as_string()}  {_LATER}"


def _later_settings(table: Table) -> dict[str, str]:
    """Optional settings kept as comments by an earlier run."""
    found = {}
    for _, item in table.value.body:
        if isinstance(item, Comment):
            match = re.match(
                r"#\s*(\w+) = (\".*\")\s+" + re.escape(_LATER), item.as_string().strip()
            )
            if match and match.group(1) in OPTIONAL_ADVISER_SETTINGS:
                found[match.group(1)] = tomlkit.parse(f"v = {match.group(2)}")["v"]
    return found


def _hours_text(entry: Any) -> str:
    """The working days and hours a config holds, as init shows and reads them back."""
    days, span = entry.get("working_days"), entry.get("working_hours")
    if not days and not span:
        return ""
    return " ".join([*(str(day) for day in days or ()), *((str(span),) if span else ())])


def defaults_from(doc: tomlkit.TOMLDocument) -> Answers:
    """The answers a config already holds (those of the example, for a new one)."""
    bot, org = doc.get("bot", {}), doc.get("organisation", {})
    telegram, matrix = doc.get("telegram", {}), doc.get("matrix", {})
    web, ops = doc.get("web", {}), doc.get("ops", {})
    advisers = []
    for entry in doc.get("advisers", []):
        later = _later_settings(entry) if isinstance(entry, Table) else {}
        advisers.append(
            AdviserAnswer(
                id=str(entry.get("id", "")),
                name=str(entry.get("name", "")),
                profile={str(k): str(v) for k, v in dict(entry.get("profile", {})).items()},
                matrix_user_id=str(entry.get("matrix_user_id", "")),
                **{k: str(entry.get(k, later.get(k, ""))) for k in OPTIONAL_ADVISER_SETTINGS},
            )
        )
        hours = _hours_text(entry)
        if hours:
            advisers[-1] = dataclasses.replace(advisers[-1], working_hours=hours)
    return Answers(
        organisation=str(org.get("name", "")),
        language=str(bot.get("default_language", "nl")),
        advisers=advisers,
        telegram_token_file=str(telegram.get("token_file", "")) if telegram.get("enabled") else "",
        telegram_api_url=str(telegram.get("api_base_url", "https://api.telegram.org")),
        matrix_homeserver=str(matrix.get("homeserver", "")),
        matrix_user=str(matrix.get("user_id", "")),
        matrix_password_file=str(matrix.get("password_file", "")),
        matrix_dm=bool(doc.get("matrix_dm", {}).get("enabled", False)),
        admins=[str(a) for a in doc.get("admin", {}).get("users", [])],
        web=bool(web.get("enabled", False)),
        web_public_url=str(web.get("public_url", "")),
        web_port=int(web.get("port", 8080)),
        web_trusted_proxies=[str(a) for a in web.get("trusted_proxies", [])],
        ops=bool(ops.get("enabled", False)),
        ops_port=int(ops.get("port", 9464)),
        log_format=str(doc.get("log", {}).get("format", "text")),
    )


def _write_adviser(table: Table, adviser: AdviserAnswer, language: str) -> None:
    _set(table, "id", adviser.id)
    _set(table, "name", adviser.name)
    _set(table, "language", table.get("language", language) if "language" in table else language)
    profile = tomlkit.inline_table()
    profile.update(adviser.profile)
    if dict(table.get("profile", {})) != adviser.profile:
        table["profile"] = profile
    _set(table, "matrix_user_id", adviser.matrix_user_id)
    if "room_id" not in table:
        table["room_id"] = ""
    for key in OPTIONAL_ADVISER_SETTINGS:
        value = getattr(adviser, key)
        if value and key not in _later_settings(table):
            if key == "working_hours":
                _write_hours(table, value)
            else:
                _set(table, key, value)


def _write_hours(table: Table, typed: str) -> None:
    """Working hours as typed become working_days and working_hours; what cannot be
    read stays as a comment for the admin to fill in."""
    parsed = parse_working_hours(typed)
    if parsed is None:
        table.add(tomlkit.comment(f"working hours as given at init, to fill in: {typed}"))
        return
    days, span = parsed
    if days is not None:
        _set(table, "working_days", days)
    if span is not None:
        _set(table, "working_hours", span)


def apply(doc: tomlkit.TOMLDocument, answers: Answers) -> None:
    """Put the answers in; what was set up before (room ids) stays."""
    _set(_table(doc, "organisation"), "name", answers.organisation)
    _set(_table(doc, "bot"), "default_language", answers.language)
    existing = doc.get("advisers")
    tables = list(existing) if isinstance(existing, AoT) else []
    wanted = {a.id for a in answers.advisers}
    kept: list[Table] = []
    for index, adviser in enumerate(answers.advisers):
        table = next((t for t in tables if t.get("id") == adviser.id), None)
        if table is None:
            # A new adviser takes the place (and the comments) of an entry not wanted.
            spare = tables[index] if index < len(tables) else None
            unused = spare is not None and spare.get("id") not in wanted and spare not in kept
            if unused and spare is not None:
                table = spare
                _set(table, "room_id", "")  # the room was someone else's
            else:
                table = tomlkit.table()
        _write_adviser(table, adviser, answers.language)
        kept.append(table)
    if [id(t) for t in kept] != [id(t) for t in tables]:
        if tables and kept:
            _move_trailing(tables[-1], kept[-1])
        advisers = tomlkit.aot()
        for table in kept:
            advisers.append(table)
        doc["advisers"] = advisers
    _apply_channels(doc, answers)


def _move_trailing(source: Table, target: Table) -> None:
    """The comments after the last entry introduce what follows the list: they stay
    at its end, whichever entry is last now."""
    body = source.value.body
    start = len(body)
    while start > 0 and body[start - 1][0] is None:
        start -= 1
    trailing = [item for _, item in body[start:] if isinstance(item, Comment | Whitespace)]
    if source is target or not trailing:
        return
    del body[start:]
    for item in trailing:
        target.add(item)


def _apply_channels(doc: tomlkit.TOMLDocument, answers: Answers) -> None:
    telegram = _table(doc, "telegram")
    _set(telegram, "enabled", bool(answers.telegram_token_file))
    if answers.telegram_token_file:
        _set(telegram, "token_file", answers.telegram_token_file)
        _set(telegram, "api_base_url", answers.telegram_api_url)
    matrix = _table(doc, "matrix")
    _set(_table(doc, "handoff"), "sink", "matrix" if answers.matrix else "local")
    if answers.matrix:
        _set(matrix, "homeserver", answers.matrix_homeserver)
        _set(matrix, "user_id", answers.matrix_user)
        _set(matrix, "password_file", answers.matrix_password_file)
    _set(_table(doc, "matrix_dm"), "enabled", answers.matrix and answers.matrix_dm)
    admin = _table(doc, "admin")
    admins = answers.admins if answers.matrix else []
    if list(admin.get("users", [])) != admins:
        admin["users"] = admins
    if not admins:
        _set(admin, "room_id", "")
    _apply_running(doc, answers)


def _apply_running(doc: tomlkit.TOMLDocument, answers: Answers) -> None:
    """The web chat, the ops listener and the log format."""
    web = _table(doc, "web")
    _set(web, "enabled", answers.web)
    if answers.web:
        _set(web, "public_url", answers.web_public_url)
        _set(web, "port", answers.web_port)
        if list(web.get("trusted_proxies", [])) != answers.web_trusted_proxies:
            web["trusted_proxies"] = answers.web_trusted_proxies
    ops = _table(doc, "ops")
    _set(ops, "enabled", answers.ops)
    if answers.ops:
        _set(ops, "port", answers.ops_port)
    _set(_table(doc, "log"), "format", answers.log_format)


def set_room(doc: tomlkit.TOMLDocument, adviser_id: str | None, room_id: str) -> None:
    """Note a created room: an adviser's (by id), or the admin room (None)."""
    if adviser_id is None:
        _set(_table(doc, "admin"), "room_id", room_id)
        return
    for table in doc.get("advisers", []):
        if table.get("id") == adviser_id:
            _set(table, "room_id", room_id)


def _keep_as_comment(doc: tomlkit.TOMLDocument, index: int, key: str) -> None:
    table = doc["advisers"][index]
    value = str(table.pop(key))
    table.add(tomlkit.comment(_comment_text(key, value)[2:]))


def partial_path(path: Path) -> Path:
    """Where a stopped run leaves the answers it had, for the next run to go on from."""
    return path.with_name(f".{path.name}.partial")


def resumed_from(path: Path) -> Path | None:
    """The answers a stopped run left, unless the config was edited since."""
    partial = partial_path(path)
    if not partial.exists():
        return None
    if path.exists() and path.stat().st_mtime > partial.stat().st_mtime:
        return None  # the admin fixed the config by hand: that counts
    return partial


def keep_partial(doc: tomlkit.TOMLDocument, path: Path) -> Path:
    """Write the answers so far down (unchecked); the next run starts from them."""
    partial = partial_path(path)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return partial


def _like_the_file_it_replaces(trial: Path, path: Path) -> None:
    """The admin's `chgrp vertrouwd` and `chmod 640` stay (the service must read it)."""
    if not path.exists():
        return
    old, new = path.stat(), trial.stat()
    if (old.st_uid, old.st_gid) != (new.st_uid, new.st_gid):
        try:
            os.chown(trial, old.st_uid, old.st_gid)
        except PermissionError as exc:
            trial.unlink()
            raise ConfigError(
                f"config file {path}: belongs to another user; run init as that user"
                " (or as root) so its owner and group stay"
            ) from exc
    os.chmod(trial, stat.S_IMODE(old.st_mode))


def save(doc: tomlkit.TOMLDocument, path: Path) -> Config:
    """Validate the config as the bot will load it, then write it (only if it changed,
    and never half, keeping the file's owner, group and mode). Returns the loaded
    config. A config that is refused is kept as the partial answers for the next run."""
    for _ in range(len(doc.get("advisers", [])) * len(OPTIONAL_ADVISER_SETTINGS) + 1):
        text = tomlkit.dumps(doc)
        trial = path.with_name(f".{path.name}.new")
        trial.write_text(text, encoding="utf-8")
        try:
            load_config(trial, environ={})
        except ConfigError as exc:
            unknown = re.match(r"advisers\[(\d+)\]\.(\w+): unknown setting", str(exc))
            if unknown and unknown.group(2) in OPTIONAL_ADVISER_SETTINGS:
                _keep_as_comment(doc, int(unknown.group(1)), unknown.group(2))
                continue
            os.replace(trial, partial_path(path))
            raise
        if path.exists() and path.read_text(encoding="utf-8") == text:
            trial.unlink()
        else:
            _like_the_file_it_replaces(trial, path)
            os.replace(trial, path)
        partial_path(path).unlink(missing_ok=True)
        return load_config(path)
    raise ConfigError("advisers: cannot be written")  # pragma: no cover - bounded above
