"""The commands an admin or adviser runs, one module per command group.

Each group's module declares its subcommands (``add_parser``) and their entries. An
implementation that loads more than every command needs sits beside its command and is
imported when that command runs: ``doctor.py`` and ``data_check.py`` behind ``checks.py``
(doctor), ``poster_svg.py`` behind ``poster.py``. The wiring that builds the parser,
loads the config and runs an entry is in ``bot/cli.py``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from bot.config import Config

EXIT_PROBLEM = 2  # a problem the admin must fix first, said in one line

# What a subcommand runs, given the loaded config: its exit code. Each subcommand's
# parser names it with set_defaults(entry=...).
Entry: TypeAlias = Callable[[Config, argparse.Namespace], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
