"""`vertrouwd matrix setup` and `vertrouwd matrix repin`: the Matrix side as the admin
sets it up, an adviser's private room and the identity pinned for them, and pins a new
identity once it was compared with the adviser in person."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time

from bot.commands import Subcommands
from bot.config import Config, ConfigError
from bot.config.model import OrganisationConfig
from bot.data_folder import STORE_FILE
from bot.keys.crypto import FieldCipher
from bot.keys.guard import keys_for_data
from bot.matrix.errors import CrossSigningError, HomeserverUnreachable, LoginFailed, MatrixHttpError
from bot.store import SqliteStore
from bot.texts.catalog import catalog_of


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    matrix = commands.add_parser("matrix", help="set up the Matrix side")
    matrix_commands = matrix.add_subparsers(dest="matrix_command", required=True)
    setup = matrix_commands.add_parser(
        "setup", parents=[common], help="create an adviser's private, encrypted room"
    )
    setup.add_argument("--adviser", required=True, help="the adviser's id in the config")
    setup.set_defaults(entry=setup_command)
    repin = matrix_commands.add_parser(
        "repin",
        parents=[common],
        help="pin an adviser's new identity (after they reset it), once compared with them",
    )
    repin.add_argument("adviser", help="the adviser's id in the config (or an admin's Matrix id)")
    repin.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    repin.set_defaults(entry=repin_command)


def setup_command(config: Config, args: argparse.Namespace) -> int:
    from bot.matrix.pinning import Pin, fingerprint, identity_now, pin
    from bot.matrix.session import MatrixSession  # loads matrix-nio: only when asked for
    from bot.matrix.setup import create_adviser_room

    if config.handoff.sink != "matrix" or config.matrix is None:
        raise ConfigError('handoff.sink: must be "matrix" to set up an adviser room')
    adviser = config.adviser(args.adviser)
    organisation = config if isinstance(config, OrganisationConfig) else None
    room_for = organisation.organisation.name if organisation is not None else None
    catalog = catalog_of(config)
    texts = catalog.texts(adviser.language)  # the default language where unsupported
    cipher = FieldCipher(keys_for_data(config))

    async def create() -> tuple[str, Pin]:
        assert config.matrix is not None
        session = MatrixSession.of_account(config, cipher)
        try:
            room_id = await create_adviser_room(session, adviser, texts, room_for)
            identity = await identity_now(session, adviser.matrix_user_id)
            if identity.pinned is None and identity.current is not None:
                # Trust on first sight, now: while the admin can compare it.
                pin(session, f"adviser {adviser.id}", adviser.matrix_user_id, identity.current)
            return room_id, identity
        finally:
            await session.close()

    try:
        room_id, identity = asyncio.run(create())
    except (HomeserverUnreachable, LoginFailed, MatrixHttpError, CrossSigningError) as exc:
        print(
            f"vertrouwd: could not create the room ({type(exc).__name__}: {exc}); "
            "run `vertrouwd doctor`",
            file=sys.stderr,
        )
        return 1
    print(f"created {room_id} and invited {adviser.matrix_user_id}.")
    if organisation is None:
        print(f'Set room_id = "{room_id}" for adviser {adviser.id!r} in your config.')
    else:
        _organisation_room(organisation, adviser.id, room_id)
    pinned = identity.pinned or identity.current
    if pinned is None:
        print(
            f"{adviser.matrix_user_id} has no cross-signing identity yet: no handoff goes to"
            " them until they set one up (in Element: verify a session); it is pinned at"
            " the first delivery."
        )
    else:
        print(f"Pinned identity of {adviser.matrix_user_id}: {fingerprint(pinned)}")
        print(
            "Compare it with the adviser, in person: Element shows it under Settings,"
            " Encryption (cross-signing master key)."
        )
    return 0


def _organisation_room(config: OrganisationConfig, adviser_id: str, room_id: str) -> None:
    """The room is this organisation's alone: its file names it, no other's."""
    from tomlkit.exceptions import TOMLKitError

    from bot.organisations.folders import folder_of
    from bot.organisations.rooms import write_adviser_room

    bureau = config.bureau_config or config
    file = folder_of(bureau.organisations_dir, config.organisation_id).file
    try:
        written = write_adviser_room(file, adviser_id, room_id)
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        print(f"{file} cannot be written now ({exc}); set it there by hand:")
        written = False
    else:
        if not written:
            print(f"{file} has no [[advisers]] of its own (it uses the bureau's list): copy")
            print("the list there, with this organisation's own rooms:")
    if written:
        print(f"Set room_id for adviser {adviser_id!r} in {file};")
        print("a running bot takes it up within seconds.")
    else:
        print(f'  room_id = "{room_id}" for adviser {adviser_id!r}')


def repin_command(config: Config, args: argparse.Namespace) -> int:
    """The adviser's identity changed (a reset in Element): pin the new one, if the
    admin confirms after comparing the fingerprint with the adviser."""
    from bot.matrix.pinning import fingerprint, identity_now, pin, pin_target
    from bot.matrix.session import MatrixSession

    if config.matrix is None:
        raise ConfigError("matrix: not configured, so there is no identity to pin")
    who, user_id = pin_target(config, args.adviser)
    cipher = FieldCipher(keys_for_data(config))

    async def repin() -> int:
        assert config.matrix is not None
        session = MatrixSession.of_account(config, cipher)
        try:
            await session.open()
            identity = await identity_now(session, user_id)
            old = fingerprint(identity.pinned) if identity.pinned else "(none)"
            print(f"{who} ({user_id})")
            print(f"  pinned now: {old}")
            if identity.current is None:
                print("  on the server: no cross-signing identity; nothing to pin")
                return 1
            print(f"  on the server: {fingerprint(identity.current)}")
            if identity.current == identity.pinned:
                print("The pinned identity is the current one; nothing to change.")
                return 0
            print(
                "Compare the new fingerprint with them in person (Element: Settings,"
                " Encryption). A different key may be someone else."
            )
            answer = args.yes or input("Pin the new identity? Type yes: ").strip() == "yes"
            if not answer:
                print("Nothing changed.")
                return 1
            pin(session, who, user_id, identity.current)
        finally:
            await session.close()
        store = await SqliteStore.open(
            config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
        )
        try:
            await store.record_text_change(
                f"{getpass.getuser()} (vertrouwd matrix repin)",
                "-",
                f"matrix.pin.{args.adviser}",
                identity.pinned,
                identity.current,
                time.time(),
            )
        finally:
            await store.close()
        print(f"Pinned: {who} is trusted again; the change is in the audit log.")
        return 0

    try:
        return asyncio.run(repin())
    except (HomeserverUnreachable, LoginFailed, MatrixHttpError, CrossSigningError) as exc:
        print(
            f"vertrouwd: could not reach the Matrix account ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
        return 1
    except EOFError:
        print("Nothing changed.")
        return 1
