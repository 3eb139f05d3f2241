"""`vertrouwd poster`: an A4 poster for the walls, with the web chat's address and its
QR code (and, for a bureau's organisation, its code for the bureau's Telegram bot).
The SVG itself is made in poster_svg.py, loaded only when a poster is made."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands import Subcommands
from bot.config import Config, load_config
from bot.config.model import OrganisationConfig
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
    write_poster(config, catalog, languages, args.out, _bureau_bot(config, args))
    print(f"wrote {args.out}")
    return 0


def _bureau_bot(config: Config, args: argparse.Namespace) -> str | None:
    """For an organisation without a Telegram bot of its own whose bureau has one: the
    bureau's name, said on the poster beside the organisation's code."""
    if not isinstance(config, OrganisationConfig) or config.telegram is not None:
        return None
    bureau = load_config(args.config)
    if bureau.telegram is None:
        return None
    return bureau.bureau.name
