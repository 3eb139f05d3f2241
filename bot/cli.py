"""The ``vertrouwd`` command."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import io
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.adapters.terminal import OutputClosed, run_interactive, run_jsonl
from bot.commands.backup import BackupError
from bot.commands.inbox import read_inbox, write_in_thread
from bot.config import LOG_FORMATS, Config, ConfigError, load_config
from bot.data_folder import STORE_FILE
from bot.first_run.command import add_init_parser, init_command
from bot.keys.crypto import DecryptionError, FieldCipher, KeyFileError
from bot.keys.guard import keys_for_data
from bot.matrix.errors import (
    CrossSigningError,
    EncryptionUnavailable,
    HomeserverUnreachable,
    LoginFailed,
    MatrixHttpError,
)
from bot.ops import run_lock
from bot.ops.logs import keep_content_out_of_logs
from bot.runtime import open_runtime, prepare_data_dir
from bot.store import SqliteStore, StoreError
from bot.texts.catalog import TextsInvalid, check_locales, load_catalog, missing_texts
from bot.version import program_version

EXIT_PROBLEM = 2
log = logging.getLogger("bot")


def setup_logging(level: str, log_format: str = "text") -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if log_format == "json":
        from bot.ops.log_json import JsonLines

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLines())
    keep_content_out_of_logs(level)


def _default_log_level(config: Config, args: argparse.Namespace) -> str:
    # A person chatting in the terminal should see the conversation, not log lines.
    interactive = args.command == "chat" and not args.jsonl
    return "WARNING" if interactive and config.log_level in ("DEBUG", "INFO") else config.log_level


def _chat(config: Config, args: argparse.Namespace) -> int:
    lang = args.lang

    async def main() -> None:
        from bot.channels import matrix_listening

        async with open_runtime(config) as runtime, matrix_listening(runtime):
            if args.jsonl:
                await run_jsonl(runtime.engine, args.user, lang, relay=runtime.relay)
            else:
                # Bytes that are not UTF-8 become U+FFFD, not a crash at the keyboard.
                if isinstance(sys.stdin, io.TextIOWrapper):
                    sys.stdin.reconfigure(errors="replace")
                await run_interactive(runtime.engine, args.user, lang, relay=runtime.relay)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except (OutputClosed, BrokenPipeError):
        # Python would complain when it flushes stdout at exit: nothing goes there now.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


def _run(config: Config, args: argparse.Namespace) -> int:
    from bot.channels import check_channels

    if args.web and config.web is None:
        from bot.config_web import default_web_settings

        config = dataclasses.replace(config, web=default_web_settings())
    check_channels(config)
    prepare_data_dir(config.data_dir)
    try:
        # Held until this process ends: a second bot would answer the same people twice
        # and sync the same Matrix device from two places.
        lock = run_lock.acquire(config.data_dir)
    except run_lock.DataDirLocked as exc:
        print(
            f"vertrouwd: {exc}; stop that one first, or give this one its own data dir",
            file=sys.stderr,
        )
        return EXIT_PROBLEM
    try:
        return _serve(config)
    finally:
        lock.release()


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop's faster event loop where it is installed (not on Windows), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def _serve(config: Config) -> int:

    from bot.ops.service import run_service

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stopping.set)
        async with open_runtime(config) as runtime:
            await run_service(runtime, stopping)
        log.info("stopped")

    try:
        _event_loop_runner()(main())
    except (LoginFailed, CrossSigningError) as exc:
        print(
            f"vertrouwd: the Matrix account could not be used ({type(exc).__name__}: {exc});"
            " run `vertrouwd doctor`",
            file=sys.stderr,
        )
        return EXIT_PROBLEM
    return 0


def _adviser_text(args: argparse.Namespace) -> str:
    """The adviser's message: from standard input, unless given as arguments (which
    other users of the machine can see in the process list, and the shell keeps)."""
    # A lone "-" is an answer too (it skips a registration question), not "read stdin".
    if args.text:
        return " ".join(args.text)
    if sys.stdin.isatty():
        print("Type the message; end it with Ctrl-D on a line of its own.", file=sys.stderr)
    return sys.stdin.read().strip()


def _texts_check(config: Config, args: argparse.Namespace) -> int:
    locales_dir = Path(args.locales) if args.locales else config.locales_dir
    default = config.default_language
    locales, problems = check_locales(locales_dir, None if args.complete else default)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {locales_dir}", file=sys.stderr)
        return 1
    missing = missing_texts(locales, default)
    for note in missing:
        print(note)
    counts = ", ".join(f"{lang}: {len(texts)} texts" for lang, texts in sorted(locales.items()))
    if missing:
        print(f"the locales in {locales_dir} are valid ({counts}); {len(missing)} text(s) missing")
    else:
        print(f"all locales in {locales_dir} are complete ({counts})")
    return 0


def _doctor(config: Config, args: argparse.Namespace) -> int:
    from bot.commands.data_check import verify_data_files
    from bot.commands.doctor import doctor  # loads matrix-nio: only when asked for

    asyncio.run(verify_data_files(config))  # a broken file: one line, exit code 2
    ok, report = doctor(config)
    print(report)
    return 0 if ok else 1


def _matrix_setup(config: Config, args: argparse.Namespace) -> int:
    from bot.matrix.pinning import Pin, fingerprint, identity_now, pin
    from bot.matrix.session import MatrixSession  # loads matrix-nio: only when asked for
    from bot.matrix.setup import create_adviser_room

    if config.handoff_sink != "matrix" or config.matrix is None:
        raise ConfigError('handoff.sink: must be "matrix" to set up an adviser room')
    adviser = config.adviser(args.adviser)
    catalog = load_catalog(config.locales_dir, config.default_language)
    texts = catalog.texts(adviser.language)  # the default language where unsupported
    cipher = FieldCipher(keys_for_data(config))

    async def create() -> tuple[str, Pin]:
        assert config.matrix is not None
        session = MatrixSession(config.matrix, config.data_dir, cipher)
        try:
            room_id = await create_adviser_room(session, adviser, texts)
            identity = await identity_now(session, adviser.matrix_user_id)
            if identity.pinned is None and identity.current is not None:
                # Trust on first sight, now: while the admin can compare it.
                pin(session, f"adviser {adviser.id}", adviser.matrix_user_id, identity.current)
            return room_id, identity
        finally:
            await session.close()

    try:
        room_id, identity = asyncio.run(create())
    except (HomeserverUnreachable, LoginFailed, MatrixHttpError, CrossSigningError) as exc:
        print(
            f"vertrouwd: could not create the room ({type(exc).__name__}: {exc}); "
            "run `vertrouwd doctor`",
            file=sys.stderr,
        )
        return 1
    print(f"created {room_id} and invited {adviser.matrix_user_id}.")
    print(f'Set room_id = "{room_id}" for adviser {adviser.id!r} in your config.')
    pinned = identity.pinned or identity.current
    if pinned is None:
        print(
            f"{adviser.matrix_user_id} has no cross-signing identity yet: no handoff goes to"
            " them until they set one up (in Element: verify a session); it is pinned at"
            " the first delivery."
        )
    else:
        print(f"Pinned identity of {adviser.matrix_user_id}: {fingerprint(pinned)}")
        print(
            "Compare it with the adviser, in person: Element shows it under Settings,"
            " Encryption (cross-signing master key)."
        )
    return 0


def _report_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    report = commands.add_parser(
        "report", parents=[common], help="the annual report, and registrations outside the bot"
    )
    report.add_argument("--year", type=int, default=datetime.now().year, help="calendar year")
    scope = report.add_mutually_exclusive_group()
    scope.add_argument("--adviser", help="only this adviser's counts (adviser id)")
    scope.add_argument("--all", action="store_true", help="every adviser together (default)")
    report.add_argument("--lang", help="language of the report, e.g. nl or en")
    report.add_argument("--format", choices=["html", "md", "csv"], help="default: html")
    report.add_argument("--out", type=Path, help="write to this file instead of stdout")
    parts = report.add_subparsers(dest="report_command")
    add = parts.add_parser(
        "add", parents=[common], help="register a contact outside the bot (asks the questions)"
    )
    add.add_argument("--adviser", help="the adviser registering (default: the first)")
    activity = parts.add_parser(
        "activity", parents=[common], help="count preventive work: DATE PARTICIPANTS [KIND]"
    )
    activity.add_argument("words", nargs="+", help="e.g. 2026-03-12 25 training")
    activity.add_argument("--adviser", help="the adviser (default: the first)")


def _report(config: Config, args: argparse.Namespace) -> int:
    from bot.report.cli import add_activity, add_contact, write_report

    if args.report_command == "add":
        return asyncio.run(add_contact(config, args.adviser, sys.stdin))
    if args.report_command == "activity":
        return asyncio.run(add_activity(config, args.adviser, " ".join(args.words)))
    return asyncio.run(
        write_report(config, args.year, args.adviser, args.lang, args.format, args.out)
    )


def _poster(config: Config, args: argparse.Namespace) -> int:
    from bot.commands.poster_svg import write_poster

    catalog = load_catalog(config.locales_dir, config.default_language)
    languages = [lang.strip() for lang in (args.lang or config.default_language).split(",")]
    write_poster(config, catalog, languages, args.out)
    print(f"wrote {args.out}")
    return 0


def _keys_new(args: argparse.Namespace) -> int:
    from bot.keys.crypto import new_key_material, write_key_file

    path: Path = args.file
    try:
        write_key_file(path, new_key_material())
    except FileExistsError:
        print(f"vertrouwd: {path} exists; it is left as it is (never overwritten)", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"vertrouwd: cannot write {path} ({exc.strerror})", file=sys.stderr)
        return 1
    print(f"wrote a new key file {path}, readable only by its owner. Back it up:")
    print("without it the bot's data cannot be read.")
    return 0


def _matrix_repin(config: Config, args: argparse.Namespace) -> int:
    """The adviser's identity changed (a reset in Element): pin the new one, if the
    admin confirms after comparing the fingerprint with the adviser."""
    from bot.matrix.pinning import fingerprint, identity_now, pin, pin_target
    from bot.matrix.session import MatrixSession

    if config.matrix is None:
        raise ConfigError("matrix: not configured, so there is no identity to pin")
    who, user_id = pin_target(config, args.adviser)
    cipher = FieldCipher(keys_for_data(config))

    async def repin() -> int:
        assert config.matrix is not None
        session = MatrixSession(config.matrix, config.data_dir, cipher)
        try:
            await session.open()
            identity = await identity_now(session, user_id)
            old = fingerprint(identity.pinned) if identity.pinned else "(none)"
            print(f"{who} ({user_id})")
            print(f"  pinned now: {old}")
            if identity.current is None:
                print("  on the server: no cross-signing identity; nothing to pin")
                return 1
            print(f"  on the server: {fingerprint(identity.current)}")
            if identity.current == identity.pinned:
                print("The pinned identity is the current one; nothing to change.")
                return 0
            print(
                "Compare the new fingerprint with them in person (Element: Settings,"
                " Encryption). A different key may be someone else."
            )
            answer = args.yes or input("Pin the new identity? Type yes: ").strip() == "yes"
            if not answer:
                print("Nothing changed.")
                return 1
            pin(session, who, user_id, identity.current)
        finally:
            await session.close()
        store = await SqliteStore.open(config.data_dir / STORE_FILE, cipher, config.durability)
        try:
            await store.record_text_change(
                f"{getpass.getuser()} (vertrouwd matrix repin)",
                "-",
                f"matrix.pin.{args.adviser}",
                identity.pinned,
                identity.current,
                time.time(),
            )
        finally:
            await store.close()
        print(f"Pinned: {who} is trusted again; the change is in the audit log.")
        return 0

    try:
        return asyncio.run(repin())
    except (HomeserverUnreachable, LoginFailed, MatrixHttpError, CrossSigningError) as exc:
        print(
            f"vertrouwd: could not reach the Matrix account ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
        return 1
    except EOFError:
        print("Nothing changed.")
        return 1


def _backup(config: Config, args: argparse.Namespace) -> int:
    from bot.commands.backup import backup, restore

    run = backup if args.command == "backup" else restore
    for line in run(config, args.folder):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="config file (default: built-in defaults)")
    common.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    common.add_argument("--log-format", choices=LOG_FORMATS, help="text, or json (one per line)")
    parser = argparse.ArgumentParser(prog="vertrouwd", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vertrouwd {program_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", parents=[common], help="talk to the bot in this terminal")
    chat.add_argument("--jsonl", action="store_true", help="JSON lines on stdin and stdout")
    chat.add_argument("--user", default=getpass.getuser(), help="name of the simulated person")
    chat.add_argument("--lang", help="starting language, e.g. nl or en")

    run = commands.add_parser(
        "run", parents=[common], help="serve employees on the channels switched on in the config"
    )
    run.add_argument(
        "--web", action="store_true", help="also serve the web chat (on 127.0.0.1:8080 by default)"
    )

    inbox = commands.add_parser("inbox", parents=[common], help="read the local adviser inbox")
    inbox.add_argument("--jsonl", action="store_true", help="one JSON object per handoff")
    inbox.add_argument("--adviser", help="only this adviser's handoffs (adviser id)")

    write = commands.add_parser(
        "write",
        parents=[common],
        help="as the adviser, write in a case's thread of the local inbox (or a !command)",
    )
    write.add_argument("case_ref", help="the case reference, e.g. ACDE-FGHJ")
    write.add_argument(
        "text",
        nargs="*",
        help="the message, or !status, !checkin 14, !close; best left out: then it is read"
        " from standard input, out of sight of other users and the shell history",
    )

    commands.add_parser(
        "doctor", parents=[common], help="check that handoffs can reach the advisers"
    )
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy every database into a new folder, safely while the bot runs (no key)",
    )
    backup.add_argument("folder", type=Path, help="a new or empty folder for the backup")
    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="put a backup back into the data folder (the bot must be stopped)",
    )
    restore.add_argument("folder", type=Path, help="a folder made by `vertrouwd backup`")
    matrix = commands.add_parser("matrix", help="set up the Matrix side")
    matrix_commands = matrix.add_subparsers(dest="matrix_command", required=True)
    setup = matrix_commands.add_parser(
        "setup", parents=[common], help="create an adviser's private, encrypted room"
    )
    setup.add_argument("--adviser", required=True, help="the adviser's id in the config")
    repin = matrix_commands.add_parser(
        "repin",
        parents=[common],
        help="pin an adviser's new identity (after they reset it), once compared with them",
    )
    repin.add_argument("adviser", help="the adviser's id in the config (or an admin's Matrix id)")
    repin.add_argument("--yes", action="store_true", help="do not ask (for scripts)")

    _report_parser(commands, common)
    poster = commands.add_parser(
        "poster",
        parents=[common],
        help="an A4 poster (SVG) with the web chat's address and QR code",
    )
    poster.add_argument("--out", type=Path, default=Path("poster.svg"), help="file to write")
    poster.add_argument("--lang", help="one language, or two side by side: nl,en")
    add_init_parser(commands, common)
    keys = commands.add_parser("keys", help="the bot's data and lookup keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    new = key_commands.add_parser("new", help="write a new key file (never overwrites one)")
    new.add_argument("file", type=Path, help="where, e.g. /etc/vertrouwd/credentials/secret.key")
    rotate = key_commands.add_parser(
        "rotate",
        parents=[common],
        help="a new data key: every field sealed again, then the old key retired",
    )
    rotate.add_argument("--batch", type=int, default=200, help="fields per transaction")
    rotate.add_argument(
        "--settle",
        type=float,
        help="seconds to give running bots to take up the new key"
        " (default: twice bot.texts_reload_seconds, plus one)",
    )

    texts = commands.add_parser("texts", help="work with the locale files")
    text_commands = texts.add_subparsers(dest="texts_command", required=True)
    check = text_commands.add_parser("check", parents=[common], help="validate every locale")
    check.add_argument("--locales", help="locale folder (default: from config)")
    check.add_argument(
        "--complete",
        action="store_true",
        help="every language must have every text (the shipped locales do)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Everything the bot creates (its data folder, databases, nio's store, temp files)
    # is private from its first byte: no chmod afterwards, no window in between.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    if args.command == "keys" and args.keys_command == "new":
        return _keys_new(args)  # needs no config: it makes what a config will name
    if args.command == "init":
        # It writes the config: it cannot load one first.
        setup_logging(args.log_level or "WARNING", args.log_format or "text")
        return init_command(args)
    try:
        config = load_config(args.config)
        setup_logging(
            args.log_level or _default_log_level(config, args),
            args.log_format or config.log_format,
        )
        if args.command == "chat":
            return _chat(config, args)
        if args.command == "run":
            return _run(config, args)
        if args.command == "inbox":
            return asyncio.run(read_inbox(config, args.adviser, args.jsonl))
        if args.command == "write":
            return asyncio.run(write_in_thread(config, args.case_ref, _adviser_text(args)))
        if args.command == "doctor":
            return _doctor(config, args)
        if args.command == "matrix" and args.matrix_command == "repin":
            return _matrix_repin(config, args)
        if args.command in ("backup", "restore"):
            return _backup(config, args)
        if args.command == "matrix":
            return _matrix_setup(config, args)
        if args.command == "report":
            return _report(config, args)
        if args.command == "poster":
            return _poster(config, args)
        if args.command == "keys":
            from bot.keys.rotation import rotate_command

            return rotate_command(config, max(args.batch, 1), args.settle)
        return _texts_check(config, args)
    except (ConfigError, KeyFileError, TextsInvalid, StoreError, EncryptionUnavailable) as exc:
        print(f"vertrouwd: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    except BackupError as exc:
        print(f"vertrouwd: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    except DecryptionError:
        # Only reached where a sealed field had no place of its own to be reported.
        print(
            "vertrouwd: stored data cannot be decrypted with this key file; put the data"
            " folder's own key file back (storage.key_file), or restore from a backup",
            file=sys.stderr,
        )
        return EXIT_PROBLEM
    except sqlite3.DatabaseError as exc:
        print(
            f"vertrouwd: a database in the data folder cannot be read"
            f" ({exc}); stop the bot and restore the data folder from a backup",
            file=sys.stderr,
        )
        return EXIT_PROBLEM


if __name__ == "__main__":
    sys.exit(main())
