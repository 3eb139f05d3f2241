"""The ``vertrouwd`` command's wiring: the parser built from the command groups in
bot/commands/, the config loaded, logging set up, known errors said in one line with
exit code 2, and the chosen command run."""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.commands import (
    EXIT_PROBLEM,
    Entry,
    backup,
    chat,
    checks,
    inbox,
    keys,
    matrix,
    org,
    poster,
    report,
)
from bot.commands.backup import BackupError
from bot.config import LOG_FORMATS, Config, ConfigError, load_config
from bot.first_run.command import add_init_parser, init_command
from bot.keys.crypto import DecryptionError, KeyFileError
from bot.matrix.errors import EncryptionUnavailable
from bot.ops.logs import keep_content_out_of_logs
from bot.store import StoreError
from bot.texts.catalog import TextsInvalid
from bot.version import program_version

# In the order `vertrouwd --help` lists them.
_COMMAND_GROUPS = (
    chat.add_parser,
    inbox.add_parser,
    checks.add_doctor_parser,
    backup.add_parser,
    matrix.add_parser,
    report.add_parser,
    poster.add_parser,
    add_init_parser,
    keys.add_parser,
    checks.add_texts_parser,
    org.add_parser,
)


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
    return (
        "WARNING"
        if interactive and config.bot.log_level in ("DEBUG", "INFO")
        else config.bot.log_level
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="config file (default: built-in defaults)")
    common.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    common.add_argument("--log-format", choices=LOG_FORMATS, help="text, or json (one per line)")
    common.add_argument(
        "--org", metavar="ID", help="a bureau's organisation: the command works on its data alone"
    )
    parser = argparse.ArgumentParser(prog="vertrouwd", description="The ``vertrouwd`` command.")
    parser.add_argument("--version", action="version", version=f"vertrouwd {program_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_group in _COMMAND_GROUPS:
        add_group(commands, common)
    return parser


# The commands about one organisation's people, cases and advisers: a bureau's own
# file names no organisation, so they need --org there.
_ONE_ORGANISATION = ("chat", "inbox", "write", "report", "poster", "matrix")


def _organisation(config: Config, args: argparse.Namespace) -> Config:
    """The config of the organisation ``--org`` names, in the bureau ``config``; the
    config itself for a command that needs none."""
    from bot.organisations.registry import find_organisation, organisation_config

    if not getattr(args, "org", None) or args.command == "org":
        if config.bureau.enabled and args.command in _ONE_ORGANISATION:
            raise ConfigError(
                f"{args.command}: this config is a bureau's; name the organisation with"
                " --org ID (`vertrouwd org list` shows them)"
            )
        return config
    if args.command == "run":
        raise ConfigError("run --org: `vertrouwd run` serves every organisation of the bureau")
    return organisation_config(args.config, find_organisation(config, args.org), bureau=config)


def main(argv: Sequence[str] | None = None) -> int:
    """The command; a reader that goes away early (`vertrouwd write ... | head -1`) ends
    it quietly: what was done stays done, and nothing more is written to it."""
    code = 0
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit, where a closed pipe cannot be caught
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush goes nowhere
    return code


def _main(argv: Sequence[str] | None) -> int:
    # Everything the bot creates (its data folder, databases, nio's store, temp files)
    # is private from its first byte: no chmod afterwards, no window in between.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    if args.command == "keys" and args.keys_command == "new":
        return keys.new_key_command(args)  # needs no config: it makes what a config will name
    if args.command == "init":
        if args.org:
            print(
                "vertrouwd: init --org: `vertrouwd org add` adds an organisation", file=sys.stderr
            )
            return EXIT_PROBLEM
        # It writes the config: it cannot load one first.
        setup_logging(args.log_level or "WARNING", args.log_format or "text")
        return init_command(args)
    entry: Entry = args.entry
    try:
        config = load_config(args.config)
        config = _organisation(config, args)
        setup_logging(
            args.log_level or _default_log_level(config, args),
            args.log_format or config.log.format,
        )
        return entry(config, args)
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
