"""``vertrouwd org``: a bureau's client organisations, one command each (add, list,
suspend, resume, remove). Every other command works on one of them with ``--org ID``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable

from bot.commands import EXIT_PROBLEM, Subcommands
from bot.config import Config, ConfigError


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    org = commands.add_parser(
        "org", parents=[common], help="a bureau's client organisations (add, list, suspend, ...)"
    )
    actions = org.add_subparsers(dest="org_command", required=True)
    add = actions.add_parser("add", parents=[common], help="add a client organisation")
    add.add_argument("id", help="a short name: lowercase letters, digits and '-'")
    add.add_argument("--name", required=True, help="the organisation's name, as people know it")
    add.add_argument(
        "--host", default="", help="the host name its web chat is served under, if it has one"
    )
    add.set_defaults(entry=add_command)
    listing = actions.add_parser("list", parents=[common], help="the organisations and their state")
    listing.set_defaults(entry=list_command)
    for name, entry, what in (
        ("suspend", suspend_command, "stop serving it (its data stays)"),
        ("resume", resume_command, "serve a suspended organisation again"),
        ("remove", remove_command, "erase it and everything the bot keeps of it"),
    ):
        action = actions.add_parser(name, parents=[common], help=what)
        action.add_argument("id")
        if name == "remove":
            action.add_argument("--yes", action="store_true", help="do not ask first")
        action.set_defaults(entry=entry)


def _bureau(config: Config) -> None:
    if not config.bureau.enabled:
        raise ConfigError(
            "org: this config serves one organisation; set [bureau] enabled = true to serve many"
        )


def add_command(config: Config, args: argparse.Namespace) -> int:
    from bot.config.bureau import OrganisationEntry
    from bot.organisations.lifecycle import add_organisation
    from bot.organisations.registry import public_url

    _bureau(config)
    _valid_id(args.id)
    added = add_organisation(config, args.id, args.name, args.host.lower())
    entry: OrganisationEntry = added.entry
    address = public_url(config.web_section.public_url, entry)
    print(f"Added {args.id} ({args.name.strip()}).")
    print(f"  its folder:       {added.folder.root}")
    print(f"  its code:         {entry.code}  (people type it to the bureau's bot; on its poster)")
    if address:
        print(f"  its web chat:     {address}")
    else:
        where = (
            f"{entry.web_host}, through the proxy"
            if entry.web_host
            else f"/{entry.web_path}/ on the bureau's address (web.public_url)"
        )
        print(f"  its web chat:     {where}")
    print("Next: give it its advisers and routes in organisation.toml (or keep the bureau's),")
    print(f"then `vertrouwd poster --org {args.id}`. A running bot serves it within seconds.")
    return 0


def _valid_id(organisation_id: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", organisation_id):
        raise ConfigError(
            f"org: {organisation_id!r} is not a usable id: at most 40 lowercase letters,"
            " digits or '-', starting with a letter or digit"
        )


def list_command(config: Config, args: argparse.Namespace) -> int:
    from bot.ops import run_lock
    from bot.organisations.folders import folder_of
    from bot.organisations.lifecycle import leftovers
    from bot.organisations.registry import organisation_ids, read_organisation

    _bureau(config)
    ids = organisation_ids(config)
    if not ids:
        print("No organisations yet: `vertrouwd org add ID --name NAME` adds one.")
    for organisation_id in ids:
        folder = folder_of(config.organisations_dir, organisation_id)
        try:
            organisation = read_organisation(folder)
        except ConfigError as exc:
            print(f"{organisation_id}  UNREADABLE: {exc}")
            continue
        entry = organisation.entry
        name = organisation.tables.get("organisation", {}).get("name", "")
        served = "served now" if run_lock.holder(folder.data_dir) is not None else "not served now"
        where = entry.web_host or f"/{entry.web_path}/"
        print(
            f"{organisation_id}  {entry.status}, {served}  code {entry.code}  web {where}  {name}"
        )
    for path in leftovers(config):
        print(f"unfinished: {path} (an add or remove was cut short; remove this folder)")
    return 0


def suspend_command(config: Config, args: argparse.Namespace) -> int:
    from bot.organisations.lifecycle import suspend_organisation

    _change_status(config, args.id, suspend_organisation)
    print(f"Suspended {args.id}: a running bot stops serving it within seconds; its data stays.")
    return 0


def resume_command(config: Config, args: argparse.Namespace) -> int:
    from bot.organisations.lifecycle import resume_organisation

    _change_status(config, args.id, resume_organisation)
    print(f"Resumed {args.id}: a running bot serves it again within seconds.")
    return 0


def _change_status(
    config: Config, organisation_id: str, change: Callable[[Config, str], None]
) -> None:
    from bot.organisations.registry import find_organisation

    _bureau(config)
    find_organisation(config, organisation_id)  # says so when there is none
    change(config, organisation_id)


def remove_command(config: Config, args: argparse.Namespace) -> int:
    from bot.organisations.folders import folder_of
    from bot.organisations.lifecycle import remove_organisation
    from bot.organisations.registry import find_organisation, organisation_config

    _bureau(config)
    _valid_id(args.id)
    if not folder_of(config.organisations_dir, args.id).root.is_dir():
        find_organisation(config, args.id)  # says there is none
    # An organisation whose file is broken can still be removed: its rooms are then
    # not known.
    rooms: list[tuple[str, str]] | None = None
    with contextlib.suppress(ConfigError):
        rooms = _adviser_rooms(organisation_config(args.config, find_organisation(config, args.id)))
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"vertrouwd: org remove {args.id}: add --yes to erase it", file=sys.stderr)
            return EXIT_PROBLEM
        try:
            answer = input(f"Erase {args.id} and everything the bot keeps of it? Type its id: ")
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C: a no
            answer = ""
            print()
        if answer.strip() != args.id:
            print("Nothing was removed.")
            return 1
    remove_organisation(config, args.id)
    links = _forget_links(config, args.id)
    print(f"Removed {args.id}: its conversations, cases, counts, reports' figures, texts,")
    print("settings and key file are erased", end="")
    if links:
        print(f", and which {links} person(s) on the bureau's own bot chose it", end="")
    print(". What remains:")
    print("- backups made of it with `vertrouwd backup --org`, and any copy of its key file")
    print("  kept elsewhere: delete them too, unless you must keep them (the key file here")
    print("  is erased; without a copy, its backups open nothing sealed);")
    if rooms is None:
        print("- the advisers' own copies of its handoffs and threads in Matrix, if it had")
        print("  rooms there (its file could not be read to name them; the advisers can leave")
        print("  and forget each room);")
    elif rooms:
        print("- the advisers' own copies of its handoffs and threads in Matrix, in these rooms")
        print("  (the bot cannot delete them; the advisers can leave and forget each room):")
        for adviser, room in rooms:
            print(f"    {adviser}: {room}")
    else:
        print("- nothing else: it had no Matrix rooms.")
    print("- the line in the organisations' audit log that says it was removed.")
    return 0


def _forget_links(config: Config, organisation_id: str) -> int:
    """The bureau's record of who chose the organisation on its own bot goes with it."""
    import asyncio

    from bot.keys.crypto import FieldCipher
    from bot.keys.guard import keys_for_data
    from bot.store.organisation_links import LINKS_FILE, OrganisationLinks

    data_dir = config.bot.data_dir
    if not (data_dir / LINKS_FILE).is_file():
        return 0

    async def forget() -> int:
        links = await OrganisationLinks.open(data_dir, FieldCipher(keys_for_data(config)))
        try:
            return await links.forget_organisation(organisation_id)
        finally:
            await links.close()

    return asyncio.run(forget())


def _adviser_rooms(config: Config) -> list[tuple[str, str]]:
    if config.handoff.sink != "matrix":
        return []
    return [(a.name, a.room_id) for a in config.advisers if a.room_id]
