"""A direct chat whose employee's identity changed: nothing personal until it is settled.

The pinned identity (``bot/matrix/direct_keys.py``) no longer matches: a reset of
their security key, or someone else on their account. Until nothing of theirs is
kept, their messages do not move the conversation on (its next question could show
their own answers back), the adviser's messages wait, and every answer is a notice
of what happened and how to go on: erase everything with /delete and start again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from nio import AsyncClient, MatrixRoom

from bot.adapters.matrix_dm.sending import DirectSender
from bot.adapters.outgoing import compose
from bot.keys.crypto import UserKey
from bot.matrix.direct_keys import DirectChatKeys
from bot.matrix.render import direct_message
from bot.messages import Conversations, Inbound, Reply

log = logging.getLogger(__name__)

Deliver = Callable[[Sequence[Reply]], Awaitable[None]]
_ERASING = "confirm_delete"  # the flow's state while it asks whether to erase


class ChangedIdentity:
    def __init__(
        self,
        channel: str,
        engine: Conversations,
        keys: DirectChatKeys,
        sender: DirectSender,
        limit: int,
    ) -> None:
        self._channel = channel
        self._engine = engine
        self._keys = keys
        self._sender = sender
        self._limit = limit
        self._told: set[str] = set()  # rooms where the notice went out since the change

    def told(self, room_id: str) -> bool:
        return room_id in self._told

    async def keeps_anything(self, ref: str) -> bool:
        return await self._engine.keeps_anything(UserKey(bytes.fromhex(ref)))

    def _user(self, person: str) -> UserKey:
        return self._engine.user_key(self._channel, person)

    async def _erasing(self, person: str) -> bool:
        return await self._engine.conversation_state(self._user(person)) == _ERASING

    async def held_back(
        self, client: AsyncClient, room: MatrixRoom, inbound: Inbound, replier: Deliver
    ) -> bool:
        """Whether this message is answered here instead of by the conversation."""
        if not room.encrypted:
            return False
        person = inbound.user_id
        keys = await self._sender.keys_of(person)
        if not keys.changed:
            return False
        if not await self.keeps_anything(keys.ref):
            self._keys.repin(keys)  # nothing of theirs to protect: start afresh
            self._told.discard(room.room_id)
            return False
        deleting = (inbound.text or "").strip().casefold() == "/delete"
        if deleting or await self._erasing(person):
            await self._engine.handle(inbound, self._erasing_replier(client, room, person, replier))
        else:
            await self.tell(client, room, person)
        return True

    def _erasing_replier(
        self, client: AsyncClient, room: MatrixRoom, person: str, replier: Deliver
    ) -> Deliver:
        """Replies on the way to erasing: the question whether to, and its answer."""

        async def deliver(replies: Sequence[Reply]) -> None:
            keys = await self._sender.keys_of(person)
            if not await self.keeps_anything(keys.ref):
                self._keys.repin(keys)
                self._told.discard(room.room_id)
                await replier(replies)
            elif await self._erasing(person):
                for outgoing in compose(list(replies), self._limit):
                    choices = outgoing.question.choices if outgoing.question else ()
                    content = direct_message(outgoing.text, choices)
                    await self._sender.send(client, room, content, to_every_device=True)
            else:
                await self.tell(client, room, person)  # kept: back to where it stood

        return deliver

    async def tell(self, client: AsyncClient, room: MatrixRoom, person: str) -> None:
        """Say, on any device of theirs, why the bot stopped and how to go on."""
        text = await self._engine.notice(self._channel, person, "dm_identity.changed")
        await self._sender.send(client, room, direct_message(text), to_every_device=True)
        self._told.add(room.room_id)
        log.warning("a direct chat waits: the employee's identity changed")
