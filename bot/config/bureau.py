"""One installation for many client organisations: ``[bureau]`` in the config, and the
``[org]`` table that heads each organisation's own file.

A config without ``[bureau]`` is one organisation, exactly as before. With it, the config
file is the bureau's: the process, the channels' listeners and accounts, and the defaults
every organisation starts from. Each organisation has a folder of its own under
``bureau.organisations_dir``: its file (``organisation.toml``: ``[org]`` plus the tables it
sets differently), its key file, its data folder and its edited texts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta

from bot.config.base import Section

# The tables an organisation's file may set; each replaces the bureau's keys it names
# (a list such as [[advisers]] is replaced whole). Everything else is the bureau's.
ORGANISATION_TABLES = (
    "organisation",
    "advisers",
    "emergency_routes",
    "referral_resources",
    "intake",
    "aftercare",
    "retention",
    "report",
    "limits",
    "telegram",
    "admin",
    "web",
)
# Of [web], an organisation sets only what its own pages and poster show.
ORGANISATION_WEB_KEYS = ("public_url", "logo_file", "accent_colour", "exit_url")
# Of [telegram], an organisation sets only its own bot.
ORGANISATION_TELEGRAM_KEYS = ("enabled", "token_file")

OrganisationId = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9][a-z0-9-]{0,39}$",
        description="at most 40 lowercase letters, digits or '-', starting with a letter or digit",
    ),
]
# What a person types to the bureau's bot, as printed on the organisation's poster:
# letters and digits that cannot be mistaken for each other.
OrganisationCode = Annotated[
    str,
    Meta(
        pattern=r"^[A-HJ-NP-Z2-9]{6,12}$",
        description="6 to 12 capitals and digits (no I, O, 0 or 1)",
    ),
]
# The unguessable part of the organisation's web address when it has no host name.
WebPath = Annotated[
    str,
    Meta(pattern=r"^[A-Za-z0-9_-]{22,64}$", description="22 to 64 letters, digits, '-' or '_'"),
]


class BureauSettings(Section, frozen=True):
    enabled: bool = False
    # The bureau's name, said by its own bot before it asks for an organisation's code.
    name: str = ""
    # "" (the default): the folder "organisations" in the data folder.
    organisations_dir: Path | None = None


class OrganisationEntry(Section, frozen=True):
    """The ``[org]`` table of an organisation's file: how people find it, and whether it
    is served."""

    code: OrganisationCode
    # Its web chat's address on the bureau's host, when it has no host name of its own.
    web_path: WebPath
    status: Literal["active", "suspended"] = "active"
    # The host name its web chat is served under (through the proxy); "" for none.
    web_host: Annotated[str, Meta(pattern=r"^([a-z0-9.-]+(:\d+)?)?$")] = ""
    added: str = ""  # the date `org add` ran, ISO

    @property
    def active(self) -> bool:
        return self.status == "active"
