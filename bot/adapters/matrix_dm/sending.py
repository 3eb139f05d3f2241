"""Sending one message into a direct chat: in an encrypted room the room key goes only
to the employee's devices that may have it (``bot/matrix/direct_keys.py``), never to
the bot's own older devices; a homeserver's refusal is raised as ``ReplyNotSent``.
"""

from __future__ import annotations

from typing import Any

from nio import AsyncClient, MatrixRoom, RoomSendResponse

from bot.matrix.direct_keys import DirectChatKeys, PersonKeys
from bot.messages import Conversations

# Far below Matrix's 64 KiB event limit, with room for the HTML copy.
MESSAGE_LIMIT = 16_000


class ReplyNotSent(Exception):
    """The homeserver refused a reply; the step it answers is saved all the same."""


class DirectSender:
    def __init__(self, channel: str, engine: Conversations, keys: DirectChatKeys, bot: str) -> None:
        self._channel = channel
        self._engine = engine
        self._keys = keys
        self._bot = bot

    async def keys_of(self, person: str) -> PersonKeys:
        """The employee's devices and the identity pinned for them."""
        return await self._keys.of(person, self._engine.user_key(self._channel, person).hex())

    async def send(
        self,
        client: AsyncClient,
        room: MatrixRoom,
        content: dict[str, Any],
        txn_id: str | None = None,
        *,
        to_every_device: bool = False,
    ) -> str:
        if room.encrypted:
            self._exclude_own_other_devices(client)
            person = self.person(room)
            keys = await self.keys_of(person)

            async def reason() -> str:
                return await self._engine.notice(
                    self._channel, person, "key_sharing.withheld_reason"
                )

            async with self._keys.sending(
                client, room, keys, reason, to_every_device=to_every_device
            ):
                response = await client.room_send(
                    room.room_id,
                    "m.room.message",
                    content,
                    ignore_unverified_devices=True,
                    tx_id=txn_id,
                )
        else:
            response = await client.room_send(room.room_id, "m.room.message", content, tx_id=txn_id)
        if not isinstance(response, RoomSendResponse):
            raise ReplyNotSent(str(getattr(response, "status_code", "?")))
        return str(response.event_id)

    def person(self, room: MatrixRoom) -> str:
        """The employee in a direct chat: the one member who is not the bot."""
        others = [user for user in room.users if user != self._bot]
        if len(others) != 1:
            raise ReplyNotSent("not-one-to-one")
        return str(others[0])

    def _exclude_own_other_devices(self, client: AsyncClient) -> None:
        """The bot's own older devices (a lost store) never get an employee's room key."""
        for device in client.device_store.active_user_devices(self._bot):
            if device.id != client.device_id and not device.blacklisted:
                client.blacklist_device(device)
