"""`vertrouwd doctor`: is everything in place for handoffs to reach the advisers?

Each check says what it found and, when it fails, what to do about it. The
output names settings, rooms and devices, never anything an employee wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from bot.commands.doctor_basics import Check, basics, render, telegram_check, web_check
from bot.config import Config, ConfigError
from bot.matrix.errors import (
    CrossSigningError,
    EncryptionUnavailable,
    HomeserverUnreachable,
    LoginFailed,
    MatrixHttpError,
)
from bot.matrix.guard import replacement_room, room_problems
from bot.matrix.http import NETWORK_ERRORS
from bot.matrix.session import MatrixSession, require_encryption
from bot.matrix.trust import device_trust, trust_problem
from bot.ops import run_lock

_GUARD_FIXES = {
    "not-encrypted": "turn on encryption in the room settings",
    "not-invite-only": "set the room to invite only",
    "history-readable-by-anyone": "set history visibility to members only",
    "bot-not-in-room": "invite the bot, or create the room with `vertrouwd matrix setup`",
    "adviser-not-in-room": "invite the adviser and let them accept",
    "adviser-not-joined": "let the adviser accept the invite first (or set history"
    " visibility to members since they were invited)",
    "room-replaced": "the room was upgraded: invite the bot to the new room, check it with"
    " `vertrouwd doctor` and put its id in room_id (or make a new one with"
    " `vertrouwd matrix setup`)",
    "other-members": "remove everyone but the adviser and the bot from the room",
}


_TRUST_EXPLAINED = {
    "adviser-not-cross-signed": (
        "the adviser has no cross-signing identity",
        "the adviser sets up secure backup / verification in Element",
    ),
    "adviser-identity-changed": (
        "the adviser's identity CHANGED since pinned",
        "confirm with the adviser in person, then run `vertrouwd matrix repin <adviser>`",
    ),
    "keys-answer-malformed": (
        "the homeserver's answer about the adviser's keys is malformed",
        "check the homeserver (its version, or a proxy in front of it)",
    ),
    "no-eligible-device": (
        "no session verified by the adviser",
        "the adviser verifies a session with their identity",
    ),
}


def _guard_fix(problems: list[str]) -> str:
    return "; ".join(_GUARD_FIXES[p.split(":")[0]] for p in problems)


async def _reachable(url: str, timeout: float) -> Check:
    name = "homeserver reachable"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
            http.get(f"{url}/_matrix/client/versions") as response,
        ):
            if response.status == 200:
                return Check(name, True, url)
            return Check(
                name,
                False,
                f"{url} answered HTTP {response.status}",
                "check matrix.homeserver: it must be the client API URL",
            )
    except NETWORK_ERRORS as exc:
        return Check(
            name,
            False,
            f"no answer from {url} ({type(exc).__name__})",
            "check matrix.homeserver and that the homeserver is running",
        )


async def run_checks(config: Config) -> list[Check]:
    checks, cipher = basics(config)
    if config.telegram is not None:
        checks.append(await telegram_check(config))
    if config.web is not None:
        checks.append(await web_check(config))
    if config.matrix is None or cipher is None:
        return checks
    try:
        require_encryption()
        checks.append(Check("end-to-end encryption", True, "matrix-nio with vodozemac"))
    except EncryptionUnavailable as exc:
        return [
            *checks,
            Check("end-to-end encryption", False, str(exc), "pip install 'matrix-nio[e2e]'"),
        ]
    reachable = await _reachable(config.matrix.homeserver, config.matrix.request_timeout_seconds)
    checks.append(reachable)
    if not reachable.ok:
        return checks
    session = MatrixSession.of_account(config, cipher)
    try:
        # Held while the checks log in and sync, so a bot cannot start meanwhile (a
        # bureau's organisation: the bureau's, whose Matrix device this is).
        lock = run_lock.acquire(config.matrix_account.bot.data_dir)
    except run_lock.DataDirLocked as running:
        try:
            checks += await _checks_beside_running_bot(session, config, running.pid)
        finally:
            await session.close()
        return checks
    try:
        checks += await _session_checks(session, config)
    finally:
        await session.close()
        lock.release()
    return checks


async def _checks_beside_running_bot(
    session: MatrixSession, config: Config, pid: int | None
) -> list[Check]:
    """With the bot's own login, reads only: a second process that synced or touched
    the device's encryption keys would race the running bot."""
    assert config.matrix is not None
    checks = [
        Check(
            "running bot",
            True,
            f"vertrouwd run (process {pid}) uses this data dir: checked without syncing"
            " or touching its encryption keys; cross-signing not checked from here",
        )
    ]
    try:
        session.open_read_only()
        assert session.http is not None
        await session.http.request("GET", "/_matrix/client/v3/account/whoami")
    except LoginFailed:
        return [*checks, Check("login", False, "no stored login", "restart the bot")]
    except MatrixHttpError as exc:
        return [
            *checks,
            Check(
                "login",
                False,
                f"the bot's login was refused ({exc.errcode or exc.status})",
                "restart the bot: it logs in again",
            ),
        ]
    except (HomeserverUnreachable, *NETWORK_ERRORS) as exc:
        return [
            *checks,
            Check("login", False, f"failed ({type(exc).__name__})", "check the homeserver's logs"),
        ]
    checks.append(
        Check("login", True, f"{config.matrix.user_id}, device {session.state.device_id}")
    )
    return checks + await _room_checks(session, config)


async def _session_checks(session: MatrixSession, config: Config) -> list[Check]:
    assert config.matrix is not None
    try:
        await session.open()
    except LoginFailed:
        return [
            Check(
                "login",
                False,
                f"{config.matrix.user_id} was refused",
                "check matrix.user_id and the password (file or environment)",
            )
        ]
    except ConfigError as exc:
        return [Check("login", False, str(exc), "provide the bot account's password")]
    except CrossSigningError as exc:
        return [
            Check("login", True, f"device {session.state.device_id}"),
            Check(
                "cross-signing",
                False,
                str(exc),
                "check the password: replacing an identity needs it",
            ),
        ]
    except (HomeserverUnreachable, MatrixHttpError, *NETWORK_ERRORS) as exc:
        return [
            Check("login", False, f"failed ({type(exc).__name__})", "check the homeserver's logs")
        ]
    assert session.client is not None and session.http is not None
    checks = [
        Check("login", True, f"{config.matrix.user_id}, device {session.client.device_id}"),
        Check("cross-signing", True, session.identity_status),
    ]
    return checks + await _room_checks(session, config)


async def _room_checks(session: MatrixSession, config: Config) -> list[Check]:
    checks = []
    if config.matrix_dm is not None:
        servers = ", ".join(config.matrix_dm.allowed_homeservers)
        checks.append(Check("direct chats", True, f"employees on {servers}"))
    if config.admin is not None:
        checks.append(await _admin_room_check(session, config))
        checks += await _admin_identity_checks(session, config)
    if config.handoff.sink != "matrix":
        return checks
    for adviser in config.advisers:
        checks += await adviser_checks(session, adviser.id, config)
    return checks


async def _admin_identity_checks(session: MatrixSession, config: Config) -> list[Check]:
    """An admin whose identity changed since it was pinned is not obeyed: say so."""
    assert config.admin is not None and session.http is not None
    checks = []
    for admin in config.admin.users:
        pinned = session.state.pinned_master_keys.get(admin)
        if pinned is None:
            continue  # pinned at their first command
        current = device_trust(await session.http.keys_query([admin]), admin).master_key
        if current != pinned:
            checks.append(
                Check(
                    f"identity of {admin}",
                    False,
                    "CHANGED since pinned; their commands are refused",
                    f"confirm with them in person, then run `vertrouwd matrix repin {admin}`",
                )
            )
    return checks


async def _admin_room_check(session: MatrixSession, config: Config) -> Check:
    assert config.admin is not None and config.matrix is not None and session.http is not None
    name = "admin room"
    try:
        state = await session.http.room_state(config.admin.room_id)
    except MatrixHttpError as exc:
        return Check(
            name,
            False,
            f"{config.admin.room_id}: {exc.errcode or exc.status}",
            "an admin invites the bot to the room; it joins by itself while running",
        )
    problems = room_problems(state, config.matrix.user_id, config.admin.users[0])
    if "not-encrypted" in problems:
        return Check(name, False, "not encrypted", "turn on encryption in the room settings")
    if "bot-not-in-room" in problems:
        return Check(name, False, "the bot is not in it", "invite the bot from an admin's account")
    return Check(name, True, f"{config.admin.room_id}: encrypted, the bot is in it")


async def adviser_checks(session: MatrixSession, adviser_id: str, config: Config) -> list[Check]:
    adviser = config.adviser(adviser_id)
    http = session.http
    assert http is not None
    room_check = f"room of {adviser.id}"
    if not adviser.room_id:
        return [
            Check(
                room_check,
                False,
                "no room_id configured",
                f"run `vertrouwd matrix setup --adviser {adviser.id}`",
            )
        ]
    try:
        state = await http.room_state(adviser.room_id)
    except MatrixHttpError as exc:
        return [
            Check(
                room_check,
                False,
                f"{adviser.room_id}: {exc.errcode or exc.status}",
                "check room_id, or create the room with `vertrouwd matrix setup`",
            )
        ]
    problems = room_problems(
        state, config.matrix.user_id if config.matrix else "", adviser.matrix_user_id
    )
    checks = [
        Check(
            room_check,
            not problems,
            ", ".join(problems)
            + (f" (new room: {replacement_room(state)})" if "room-replaced" in problems else "")
            or f"{adviser.room_id}: encrypted, invite only, only the adviser and the bot",
            _guard_fix(problems),
        )
    ]
    trust = device_trust(await http.keys_query([adviser.matrix_user_id]), adviser.matrix_user_id)
    pinned = session.state.pinned_master_keys.get(adviser.matrix_user_id)
    devices_check = f"devices of {adviser.id}"
    problem = trust_problem(trust, pinned)
    if problem is not None:
        found, fix = _TRUST_EXPLAINED[problem]
        checks.append(Check(devices_check, False, found, fix))
    else:
        left_out = ", ".join(sorted(trust.excluded.values())) or "none"
        checks.append(
            Check(devices_check, True, f"{len(trust.eligible)} verified; left out: {left_out}")
        )
    return checks


def doctor(
    config: Config, data_files: str | None = None, more: Sequence[Check] = ()
) -> tuple[bool, str]:
    """``data_files``: what bot/commands/data_check.py found (it stops at a broken one);
    ``more``: checks made before (a bureau's organisations)."""
    checks = asyncio.run(run_checks(config))
    if data_files is not None:
        checks.insert(1, Check("data files", True, data_files))
    checks[1:1] = more
    return all(c.ok for c in checks), render(checks)
