"""Which direct chats the bot serves: it joins a direct chat from an allowed homeserver
(one per person), serves it only while the bot and that one person are in it, turns
on end-to-end encryption before it asks anything, and otherwise leaves, forgetting
the chat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from nio import AsyncClient, InviteInfo, InviteMemberEvent, MatrixRoom, RoomPutStateResponse

from bot.config import MatrixDmSettings
from bot.matrix.forget import forget_person, forget_room
from bot.matrix.guard import MEGOLM
from bot.matrix.session import MatrixSession

log = logging.getLogger(__name__)


def server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


class Say(Protocol):
    """A notice to the person in a room, in their language or the hinted one."""

    async def __call__(
        self, client: AsyncClient, room: MatrixRoom, key: str, person: str, lang: str | None = None
    ) -> None: ...


# The conversation picks up where it stood: encryption is on in the person's chat.
Resume = Callable[[AsyncClient, MatrixRoom, str], Awaitable[None]]


class DirectRooms:
    def __init__(
        self, session: MatrixSession, settings: MatrixDmSettings, say: Say, resume: Resume
    ) -> None:
        self._session = session
        self._settings = settings
        self._say = say
        self._resume = resume
        self._bot = session.settings.user_id
        # Rooms where the bot asked for encryption and greets once it is on.
        self._awaiting_encryption: set[str] = set()

    def allowed(self, user_id: str) -> bool:
        return server_of(user_id) in self._settings.allowed_homeservers

    async def consider_invite(self, client: AsyncClient, room_id: str, invite: InviteInfo) -> None:
        own = next(
            (
                event
                for event in invite.invite_state
                if isinstance(event, InviteMemberEvent)
                and event.state_key == self._bot
                and event.membership == "invite"
            ),
            None,
        )
        if own is None:
            return
        refusal = None
        if not self.allowed(own.sender):
            refusal = "homeserver not allowed"
        elif not own.content.get("is_direct"):
            refusal = "not a direct chat"
        elif self._already_served(client, own.sender):
            refusal = "already one direct chat with this person"
        if refusal is not None:
            await client.room_leave(room_id)
            log.info("declined an invite: %s", refusal)
            return
        response = await client.join(room_id)
        if getattr(response, "room_id", None) != room_id:
            log.warning("could not join a direct chat: %s", getattr(response, "status_code", "?"))
            return
        self._session.state.direct_rooms.append(room_id)
        self._session.state.direct_room_people[room_id] = own.sender
        self._session.save_state()
        log.info("joined a direct chat")

    def _already_served(self, client: AsyncClient, person: str) -> bool:
        """One open direct chat per person: more would only multiply the bot's work."""
        for served in self._session.state.direct_rooms:
            room = client.rooms.get(served)
            if room is not None and person in room.users:
                return True
        return False

    async def fit_to_serve(self, client: AsyncClient, room: MatrixRoom) -> bool:
        """One other person, from an allowed server, and end-to-end encryption on."""
        others = [user for user in room.users if user != self._bot]
        if not self.only_its_person(room) or not self.allowed(others[0]):
            if others:
                await self._say(client, room, "channel.private_only", others[0])
            await self._leave(client, room.room_id, "not one to one" if others else "left alone")
            return False
        person = others[0]
        if room.encrypted:
            if room.room_id in self._awaiting_encryption:
                self._awaiting_encryption.discard(room.room_id)
                await self._say(client, room, "channel.encryption_on", person)
                await self._resume(client, room, person)
            return True
        if room.room_id not in self._awaiting_encryption:
            response = await client.room_put_state(
                room.room_id, "m.room.encryption", {"algorithm": MEGOLM}
            )
            if isinstance(response, RoomPutStateResponse):
                self._awaiting_encryption.add(room.room_id)
                log.info("turned on encryption in a direct chat")
            else:
                # Said in the clear on purpose: it asks nothing and tells why.
                await self._say(client, room, "channel.unencrypted", person)
                await self._leave(client, room.room_id, "encryption could not be turned on")
        return False

    def only_its_person(self, room: MatrixRoom) -> bool:
        """The room holds the bot and the person it is with, nobody else (invited
        counts): checked when a sync brings the room and again right before a send."""
        others = [user for user in room.users if user != self._bot]
        people = self._session.state.direct_room_people
        return len(others) == 1 and people.setdefault(room.room_id, others[0]) == others[0]

    async def _leave(self, client: AsyncClient, room_id: str, reason: str) -> None:
        await client.room_leave(room_id)
        person = self._session.state.direct_room_people.pop(room_id, None)
        if room_id in self._session.state.direct_rooms:
            self._session.state.direct_rooms.remove(room_id)
            self._session.save_state()
        # Nothing of a chat the bot left stays in nio's store.
        forget_room(client, room_id)
        if person is not None:
            forget_person(client, person)
        log.info("left a direct chat: %s", reason)
