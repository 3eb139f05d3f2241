"""Creating an adviser's room the way the guard wants it: encrypted, invite-only, two people."""

from __future__ import annotations

from typing import Any

from nio import RoomCreateResponse, RoomPreset, RoomVisibility

from bot.config import Adviser
from bot.matrix.errors import MatrixHttpError
from bot.matrix.guard import MEGOLM
from bot.matrix.session import MatrixSession
from bot.texts.catalog import Texts


def private_room_state() -> list[dict[str, Any]]:
    """Encrypted, invite only, history for members only, no guests: what the guard wants."""
    return [
        {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}},
        {
            "type": "m.room.history_visibility",
            "state_key": "",
            "content": {"history_visibility": "invited"},
        },
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
        {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
    ]


async def create_adviser_room(
    session: MatrixSession, adviser: Adviser, t: Texts, organisation: str | None = None
) -> str:
    """Create the room, invite the adviser; returns the room id for the config. For an
    ``organisation`` of a bureau, the room's name says whose requests come there: an
    adviser of several organisations has a room for each."""
    if not session.ready:
        await session.open()
    client = session.client
    assert client is not None
    response = await client.room_create(
        visibility=RoomVisibility.private,
        preset=RoomPreset.private_chat,
        name=(
            t("bureau.rooms.room_name", organisation=organisation)
            if organisation
            else t("matrix.room_name", adviser=adviser.name)
        ),
        topic=(
            t("bureau.rooms.room_topic", organisation=organisation)
            if organisation
            else t("matrix.room_topic")
        ),
        invite=[adviser.matrix_user_id],
        is_direct=False,
        # The adviser may manage the room (remove someone who does not belong);
        # inviting takes a rank only the two of them have. The creator (the bot)
        # is not listed: room version 12 ranks creators above everyone by itself.
        power_level_override={"users": {adviser.matrix_user_id: 100}, "invite": 50},
        initial_state=private_room_state(),
    )
    if not isinstance(response, RoomCreateResponse):
        raise MatrixHttpError(400, getattr(response, "status_code", None), {})
    await session.sync()
    return str(response.room_id)
