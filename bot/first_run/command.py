"""The `vertrouwd init` command line: its flags, and its errors as one clear line."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from bot.config import ConfigError
from bot.first_run.answers import AnswerError
from bot.first_run.wizard import run_init
from bot.keys.crypto import KeyFileError
from bot.matrix.errors import CrossSigningError, HomeserverUnreachable, LoginFailed, MatrixHttpError

EXIT_PROBLEM = 2


def init_command(args: argparse.Namespace) -> int:
    interactive = not args.non_interactive and sys.stdin.isatty()
    try:
        return run_init(
            args.config or Path("config.toml"),
            args,
            input if interactive else None,
            getpass.getpass if interactive else None,
        )
    except (KeyboardInterrupt, EOFError):
        print("\nvertrouwd init: stopped; run it again to go on where it stopped", file=sys.stderr)
        return EXIT_PROBLEM
    except (
        AnswerError,
        ConfigError,
        KeyFileError,
        HomeserverUnreachable,
        LoginFailed,
        MatrixHttpError,
        CrossSigningError,
    ) as exc:
        print(f"vertrouwd init: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("run `vertrouwd init` again once it is fixed; it goes on where it stopped",
              file=sys.stderr)  # fmt: skip
        return EXIT_PROBLEM


def add_init_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> None:  # fmt: skip
    init = commands.add_parser(
        "init",
        parents=[common],
        help="set up: the config (default ./config.toml), secrets, rooms; then doctor",
    )
    init.add_argument("--non-interactive", action="store_true", help="ask nothing")
    init.add_argument("--organisation", help="the organisation's name")
    init.add_argument("--language", choices=["nl", "en"], help="the bot's language")
    init.add_argument(
        "--adviser",
        action="append",
        help='repeat per adviser: "name=Anna; profile=...; profile.en=...; matrix=@anna:x.org;'
        ' hours=Mon-Thu 9-17; phone=...; email=..."',
    )
    init.add_argument("--telegram-token-file", help="file with the token (empty: no Telegram)")
    init.add_argument("--telegram-api-url", help="a self-hosted Bot API server")
    init.add_argument("--matrix-homeserver", help="homeserver URL (empty: no Matrix)")
    init.add_argument("--matrix-user", help="the bot's account, e.g. @vertrouwd:example.org")
    init.add_argument("--matrix-password-file", help="file with the bot account's password")
    init.add_argument(
        "--matrix-dm", action=argparse.BooleanOptionalAction, help="employees in direct chats"
    )
    init.add_argument("--admin", action="append", help="an admin's Matrix id (repeat)")
    init.add_argument("--web", action=argparse.BooleanOptionalAction, help="the anonymous web chat")
    init.add_argument("--web-public-url", help="the address employees use, https://...")
    init.add_argument("--web-port", type=int, help="the port it listens on (127.0.0.1)")
    init.add_argument(
        "--web-trusted-proxy",
        action="append",
        help="your reverse proxy's address (repeat; empty: none)",
    )
    init.add_argument(
        "--ops", action=argparse.BooleanOptionalAction, help="/healthz, /readyz, /metrics"
    )
    init.add_argument("--ops-port", type=int, help="the ops listener's port (127.0.0.1)")
    # --log-format (common to every command) is also written as the config's log.format.
