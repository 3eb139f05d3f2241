"""The ``vertrouwd`` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot import run_lock
from bot.adapters.terminal import run_interactive, run_jsonl
from bot.config import Config, ConfigError, load_config
from bot.crypto import FieldCipher, KeyFileError, load_or_create_keys
from bot.local_adviser import read_inbox, write_in_thread
from bot.logs import keep_content_out_of_logs
from bot.matrix.errors import (
    CrossSigningError,
    EncryptionUnavailable,
    HomeserverUnreachable,
    LoginFailed,
    MatrixHttpError,
)
from bot.runtime import open_runtime, prepare_data_dir
from bot.store import StoreError
from bot.texts import TextsInvalid, check_locales, load_catalog, missing_texts

EXIT_PROBLEM = 2
log = logging.getLogger("bot")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    keep_content_out_of_logs(level)


def _default_log_level(config: Config, args: argparse.Namespace) -> str:
    # A person chatting in the terminal should see the conversation, not log lines.
    interactive = args.command == "chat" and not args.jsonl
    return "WARNING" if interactive and config.log_level in ("DEBUG", "INFO") else config.log_level


def _chat(config: Config, args: argparse.Namespace) -> int:
    lang = args.lang

    async def main() -> None:
        async with open_runtime(config) as runtime:
            if args.jsonl:
                await run_jsonl(runtime.engine, args.user, lang, relay=runtime.relay)
            else:
                await run_interactive(runtime.engine, args.user, lang, relay=runtime.relay)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    return 0


def _run(config: Config, args: argparse.Namespace) -> int:
    from bot.channels import check_channels

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
    from bot.channels import serve

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stopping.set)
        async with open_runtime(config) as runtime:
            await serve(runtime, stopping)
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
    from bot.doctor import doctor  # loads matrix-nio: only when asked for

    ok, report = doctor(config)
    print(report)
    return 0 if ok else 1


def _matrix_setup(config: Config, args: argparse.Namespace) -> int:
    from bot.matrix.session import MatrixSession  # loads matrix-nio: only when asked for
    from bot.matrix.setup import create_adviser_room

    if config.handoff_sink != "matrix" or config.matrix is None:
        raise ConfigError('handoff.sink: must be "matrix" to set up an adviser room')
    adviser = config.adviser(args.adviser)
    catalog = load_catalog(config.locales_dir, config.default_language)
    texts = catalog.texts(adviser.language)  # the default language where unsupported
    cipher = FieldCipher(load_or_create_keys(config.key_file))

    async def create() -> str:
        assert config.matrix is not None
        session = MatrixSession(config.matrix, config.data_dir, cipher)
        try:
            return await create_adviser_room(session, adviser, texts)
        finally:
            await session.close()

    try:
        room_id = asyncio.run(create())
    except (HomeserverUnreachable, LoginFailed, MatrixHttpError, CrossSigningError) as exc:
        print(
            f"vertrouwd: could not create the room ({type(exc).__name__}: {exc}); "
            "run `vertrouwd doctor`",
            file=sys.stderr,
        )
        return 1
    print(f"created {room_id} and invited {adviser.matrix_user_id}.")
    print(f'Set room_id = "{room_id}" for adviser {adviser.id!r} in your config.')
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="config file (default: built-in defaults)")
    common.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser = argparse.ArgumentParser(prog="vertrouwd", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", parents=[common], help="talk to the bot in this terminal")
    chat.add_argument("--jsonl", action="store_true", help="JSON lines on stdin and stdout")
    chat.add_argument("--user", default=getpass.getuser(), help="name of the simulated person")
    chat.add_argument("--lang", help="starting language, e.g. nl or en")

    commands.add_parser(
        "run", parents=[common], help="serve employees on the channels switched on in the config"
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
    write.add_argument("text", nargs="+", help="the message, or !status, !checkin 14, !close")

    commands.add_parser(
        "doctor", parents=[common], help="check that handoffs can reach the advisers"
    )
    matrix = commands.add_parser("matrix", help="set up the Matrix side")
    matrix_commands = matrix.add_subparsers(dest="matrix_command", required=True)
    setup = matrix_commands.add_parser(
        "setup", parents=[common], help="create an adviser's private, encrypted room"
    )
    setup.add_argument("--adviser", required=True, help="the adviser's id in the config")

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
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        setup_logging(args.log_level or _default_log_level(config, args))
        if args.command == "chat":
            return _chat(config, args)
        if args.command == "run":
            return _run(config, args)
        if args.command == "inbox":
            return asyncio.run(read_inbox(config, args.adviser, args.jsonl))
        if args.command == "write":
            return asyncio.run(write_in_thread(config, args.case_ref, " ".join(args.text)))
        if args.command == "doctor":
            return _doctor(config, args)
        if args.command == "matrix":
            return _matrix_setup(config, args)
        return _texts_check(config, args)
    except (ConfigError, KeyFileError, TextsInvalid, StoreError, EncryptionUnavailable) as exc:
        print(f"vertrouwd: {exc}", file=sys.stderr)
        return EXIT_PROBLEM


if __name__ == "__main__":
    sys.exit(main())
