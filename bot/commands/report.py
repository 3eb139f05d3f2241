"""`vertrouwd report`, `report add` and `report activity`: the annual report, and the
adviser's registrations outside the bot. What they do is in bot/report/cli.py."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, time
from pathlib import Path

from bot.commands import Subcommands
from bot.config import Config
from bot.line.terms import zone


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
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
    report.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="make the report as on this day (YYYY-MM-DD), e.g. to include the running"
        " quarter for yourself; the admin room always uses today",
    )
    report.set_defaults(entry=report_command)
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
    activity.add_argument(
        "--withdraw", action="store_true", help="take back an activity entered by mistake"
    )
    advice = parts.add_parser(
        "advice",
        parents=[common],
        help="the adviser's observations and advice for a year's report (from a file or stdin)",
    )
    advice.add_argument("--year", type=int, required=True, help="calendar year")
    advice.add_argument("--file", type=Path, help="read the text from this file (default: stdin)")


def report_command(config: Config, args: argparse.Namespace) -> int:
    from bot.report.cli import add_activity, add_contact, write_advice, write_report

    if args.report_command == "add":
        return asyncio.run(add_contact(config, args.adviser, sys.stdin))
    if args.report_command == "advice":
        text = args.file.read_text(encoding="utf-8") if args.file else sys.stdin.read()
        return asyncio.run(write_advice(config, args.year, text))
    if args.report_command == "activity":
        words = " ".join(args.words)
        return asyncio.run(add_activity(config, args.adviser, words, withdraw=args.withdraw))
    as_of = None
    if args.as_of is not None:
        as_of = datetime.combine(args.as_of, time(23, 59), zone(config)).timestamp()
    return asyncio.run(
        write_report(config, args.year, args.adviser, args.lang, args.format, args.out, as_of)
    )
