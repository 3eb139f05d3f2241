"""The Matrix side of `vertrouwd init`: log in, cross-sign, and the rooms.

Each room is written into the config as soon as it exists, and a room the bot made
earlier for the same purpose is found again (a run stopped between creating a room
and writing its id does not make a second one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nio import RoomCreateResponse, RoomPreset, RoomVisibility

from bot.config import Adviser, Config
from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.matrix.errors import MatrixHttpError
from bot.matrix.guard import MEGOLM
from bot.matrix.session import MatrixSession
from bot.matrix.setup import create_adviser_room, private_room_state
from bot.texts.catalog import Texts, catalog_of

# Called with (adviser id, or None for the admin room; room id) once a room exists.
RoomMade = Callable[[str | None, str], None]


def _fits(state: list[dict[str, Any]], name: str, people: set[str]) -> bool:
    """The room has this name, is encrypted, and holds exactly these people."""
    members, named, encrypted = set(), "", False
    for event in state:
        content = event.get("content") or {}
        kind = event.get("type")
        if kind == "m.room.member" and content.get("membership") in ("join", "invite"):
            members.add(str(event.get("state_key")))
        elif kind == "m.room.name":
            named = str(content.get("name", ""))
        elif kind == "m.room.encryption":
            encrypted = content.get("algorithm") == MEGOLM
    return named == name and encrypted and members == people


async def _existing(session: MatrixSession, name: str, people: set[str]) -> str | None:
    """A room of the bot's made for this purpose before (asked of the homeserver: a
    later run's client has not synced the old rooms)."""
    http = session.http
    assert http is not None
    joined = await http.request("GET", "/_matrix/client/v3/joined_rooms")
    everyone = {session.settings.user_id, *people}
    for room_id in joined.get("joined_rooms", []):
        if _fits(await http.room_state(str(room_id)), name, everyone):
            return str(room_id)
    return None


async def _adviser_room(session: MatrixSession, adviser: Adviser, t: Texts) -> tuple[str, bool]:
    name = t("matrix.room_name", adviser=adviser.name)
    found = await _existing(session, name, {adviser.matrix_user_id})
    if found:
        return found, False
    return await create_adviser_room(session, adviser, t), True


async def _admin_room(
    session: MatrixSession, admins: tuple[str, ...], t: Texts
) -> tuple[str, bool]:
    found = await _existing(session, t("admin_room.name"), set(admins))
    if found:
        return found, False
    client = session.client
    assert client is not None
    response = await client.room_create(
        visibility=RoomVisibility.private,
        preset=RoomPreset.private_chat,
        name=t("admin_room.name"),
        topic=t("admin_room.topic"),
        invite=list(admins),
        is_direct=False,
        power_level_override={"users": dict.fromkeys(admins, 100), "invite": 50},
        initial_state=private_room_state(),
    )
    if not isinstance(response, RoomCreateResponse):
        raise MatrixHttpError(400, getattr(response, "status_code", None), {})
    await session.sync()
    return str(response.room_id), True


async def set_up_matrix(
    config: Config, admins: tuple[str, ...], made: RoomMade, say: Callable[[str], None]
) -> None:
    """Log in (and cross-sign), then make every room the config still lacks: each
    adviser's, and the admin room when ``admins`` are named and it has none."""
    assert config.matrix is not None
    catalog = catalog_of(config)
    cipher = FieldCipher(load_or_create_keys(config.key_file))
    session = MatrixSession(config.matrix, config.bot.data_dir, cipher)
    try:
        await session.open()
        assert session.client is not None
        device = session.client.device_id
        say(f"Matrix: logged in as {config.matrix.user_id}, device {device}")
        say(f"Matrix: cross-signing {session.identity_status}")
        for adviser in config.advisers:
            if adviser.room_id or not adviser.matrix_user_id:
                continue
            room_id, new = await _adviser_room(session, adviser, catalog.texts(adviser.language))
            made(adviser.id, room_id)
            how = "created" if new else "found"
            say(f"Matrix: {how} the room of {adviser.id}, {room_id} ({adviser.matrix_user_id})")
        if admins and config.admin is None:
            texts = catalog.texts(config.bot.default_language)
            room_id, new = await _admin_room(session, admins, texts)
            made(None, room_id)
            how = "created" if new else "found"
            say(f"Matrix: {how} the admin room, {room_id} ({', '.join(admins)})")
    finally:
        await session.close()
