"""`vertrouwd chat` and `vertrouwd run`: the bot talking with employees, in this
terminal or on the channels switched on in the config."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import io
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec

from bot.adapters.terminal import OutputClosed, run_interactive, run_jsonl
from bot.commands import EXIT_PROBLEM, Subcommands
from bot.config import Config
from bot.matrix.errors import CrossSigningError, LoginFailed
from bot.ops import run_lock
from bot.runtime import open_runtime, prepare_data_dir

log = logging.getLogger("bot")  # the logger name its lines have always carried


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    chat = commands.add_parser("chat", parents=[common], help="talk to the bot in this terminal")
    chat.add_argument("--jsonl", action="store_true", help="JSON lines on stdin and stdout")
    chat.add_argument("--user", default=getpass.getuser(), help="name of the simulated person")
    chat.add_argument("--lang", help="starting language, e.g. nl or en")
    chat.set_defaults(entry=chat_command)

    run = commands.add_parser(
        "run", parents=[common], help="serve employees on the channels switched on in the config"
    )
    run.add_argument(
        "--web", action="store_true", help="also serve the web chat (on 127.0.0.1:8080 by default)"
    )
    run.set_defaults(entry=run_command)


def chat_command(config: Config, args: argparse.Namespace) -> int:
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


def run_command(config: Config, args: argparse.Namespace) -> int:
    from bot.channels import check_channels

    if args.web and config.web is None:
        config = msgspec.structs.replace(
            config, web_section=msgspec.structs.replace(config.web_section, enabled=True)
        )
    if config.bureau.enabled:
        return _run_bureau(config, args)
    check_channels(config)
    prepare_data_dir(config.bot.data_dir)
    try:
        # Held until this process ends: a second bot would answer the same people twice
        # and sync the same Matrix device from two places.
        lock = run_lock.acquire(config.bot.data_dir)
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


def _run_bureau(config: Config, args: argparse.Namespace) -> int:
    """A bureau: every active organisation, served by one process."""
    prepare_data_dir(config.bot.data_dir)
    try:
        lock = run_lock.acquire(config.bot.data_dir)
    except run_lock.DataDirLocked as exc:
        print(f"vertrouwd: {exc}; stop that one first", file=sys.stderr)
        return EXIT_PROBLEM
    try:
        return _serve(config, args.config)
    finally:
        lock.release()


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop's faster event loop where it is installed (not on Windows), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def _serve(config: Config, bureau_file: Path | None = None) -> int:

    from bot.ops.service import run_service
    from bot.util.open_files import raise_open_file_limit

    # Every visitor's connection is an open file: take what the system allows.
    raise_open_file_limit()

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stopping.set)
        if config.bureau.enabled:
            from bot.ops.bureau_service import run_bureau_service
            from bot.runtime.bureau import open_bureau

            async with open_bureau(config, bureau_file, preload_scorer=True) as bureau:
                await run_bureau_service(bureau, stopping)
        else:
            async with open_runtime(config, preload_scorer=True) as runtime:
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
