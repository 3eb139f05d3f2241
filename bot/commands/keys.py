"""`vertrouwd keys new FILE` and `vertrouwd keys rotate`: the key file the bot's data
is sealed with, made once and replaced by a new key when the admin wants one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.commands import Subcommands
from bot.config import Config


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    keys = commands.add_parser("keys", help="the bot's data and lookup keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    # No config options: it makes the key file a config will name (bot/cli.py runs it
    # before any config is loaded).
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
    rotate.set_defaults(entry=rotate_key_command)


def new_key_command(args: argparse.Namespace) -> int:
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


def rotate_key_command(config: Config, args: argparse.Namespace) -> int:
    from bot.keys.rotation import rotate_command

    return rotate_command(config, max(args.batch, 1), args.settle)
