"""`vertrouwd poster`: an A4 poster for the walls, with the web chat's address and its
QR code. The SVG itself is made in poster_svg.py, loaded only when a poster is made."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands import Subcommands
from bot.config import Config
from bot.texts.catalog import catalog_of


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    poster = commands.add_parser(
        "poster",
        parents=[common],
        help="an A4 poster (SVG) with the web chat's address and QR code",
    )
    poster.add_argument("--out", type=Path, default=Path("poster.svg"), help="file to write")
    poster.add_argument("--lang", help="one language, or two side by side: nl,en")
    poster.set_defaults(entry=poster_command)


def poster_command(config: Config, args: argparse.Namespace) -> int:
    from bot.commands.poster_svg import write_poster

    catalog = catalog_of(config)
    languages = [lang.strip() for lang in (args.lang or config.bot.default_language).split(",")]
    write_poster(config, catalog, languages, args.out)
    print(f"wrote {args.out}")
    return 0
