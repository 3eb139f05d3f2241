"""`vertrouwd doctor` and `vertrouwd texts check`: the admin's checks of what the bot
relies on, each problem named with what to do about it.

The doctor's own checks are in doctor.py, which loads matrix-nio, so it is imported
only when the doctor runs; data_check.py opens the databases first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.commands import Subcommands
from bot.config import Config
from bot.config.model import OrganisationConfig
from bot.texts.catalog import check_locales, missing_texts


def add_doctor_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    doctor = commands.add_parser(
        "doctor", parents=[common], help="check that handoffs can reach the advisers"
    )
    doctor.set_defaults(entry=doctor_command)


def add_texts_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    texts = commands.add_parser("texts", help="work with the locale files")
    text_commands = texts.add_subparsers(dest="texts_command", required=True)
    check = text_commands.add_parser("check", parents=[common], help="validate every locale")
    check.add_argument("--locales", help="locale folder (default: from config)")
    check.add_argument(
        "--complete",
        action="store_true",
        help="every language must have every text (the shipped locales do)",
    )
    check.set_defaults(entry=texts_check_command)


def doctor_command(config: Config, args: argparse.Namespace) -> int:
    from bot.commands.data_check import verify_data_files
    from bot.commands.doctor import doctor  # loads matrix-nio: only when asked for

    checked = asyncio.run(verify_data_files(config))  # a broken file: one line, exit 2
    more = []
    if config.bureau.enabled and not isinstance(config, OrganisationConfig):
        from bot.commands.doctor_basics import organisations_check

        more.append(organisations_check(config, args.config))
    ok, report = doctor(config, checked, more)
    print(report)
    return 0 if ok else 1


def texts_check_command(config: Config, args: argparse.Namespace) -> int:
    locales_dir = Path(args.locales) if args.locales else config.locales_dir
    # The texts the bot runs with: with the config's edited texts over its locale files
    # (an organisation's own, in a bureau); a folder named with --locales alone.
    overrides = None if args.locales else config.bot.texts_overrides_dir
    checked = f"{locales_dir} with the edited texts in {overrides}" if overrides else locales_dir
    default = config.bot.default_language
    locales, problems = check_locales(locales_dir, None if args.complete else default, overrides)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {checked}", file=sys.stderr)
        return 1
    missing = missing_texts(locales, default)
    for note in missing:
        print(note)
    counts = ", ".join(f"{lang}: {len(texts)} texts" for lang, texts in sorted(locales.items()))
    if missing:
        print(f"the locales in {checked} are valid ({counts}); {len(missing)} text(s) missing")
    else:
        print(f"all locales in {checked} are complete ({counts})")
    return 0
