"""The Matrix direct chats as a channel: each sync's messages read into ``Inbound``
for the engine, the engine's replies and the line's relays sent back, and the chats
of people the bot forgot (after /delete, or at retention) left.

Each sync is handled before its token is saved, and the engine skips messages it
already handled, so a crash loses and doubles nothing. Which chats are served is
``rooms.py``'s to say; how a message goes out, ``sending.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Container, Sequence
from typing import Any

from nio import (
    AsyncClient,
    BadEvent,
    MatrixRoom,
    MegolmEvent,
    RoomEncryptedMedia,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageMedia,
    RoomMessageText,
    RoomMessageUnknown,
    StickerEvent,
    SyncResponse,
    UnknownBadEvent,
)

from bot.adapters.matrix_dm.identity import ChangedIdentity
from bot.adapters.matrix_dm.rooms import DirectRooms
from bot.adapters.matrix_dm.sending import MESSAGE_LIMIT, DirectSender, ReplyNotSent
from bot.adapters.outgoing import compose
from bot.config import MatrixDmSettings
from bot.matrix.direct_keys import DirectChatKeys, IdentityChanged
from bot.matrix.errors import HomeserverUnreachable
from bot.matrix.forget import leave_and_forget
from bot.matrix.http import NETWORK_ERRORS
from bot.matrix.render import direct_message, without_reply_fallback
from bot.matrix.session import MatrixSession
from bot.messages import Conversations, Inbound, InboundKind, Reply
from bot.sinks.base import DeliveryDeferred, RecipientGone
from bot.util.failures import describe_failure

CHANNEL = "matrix"

_UNSUPPORTED = (RoomMessageMedia, RoomEncryptedMedia, StickerEvent, RoomMessageUnknown)

log = logging.getLogger(__name__)


class MatrixDmChannel:
    def __init__(
        self,
        session: MatrixSession,
        settings: MatrixDmSettings,
        engine: Conversations,
        other_rooms: Container[str] = frozenset(),
    ) -> None:
        self._session = session
        self._engine = engine
        # The advisers' rooms and the admin room: their invites are not for this channel.
        self._other_rooms = other_rooms
        self._bot = session.settings.user_id
        self._rooms = DirectRooms(session, settings, self._say, self._resume)
        # Who gets the room keys (Element's rule for people), and what the chat does
        # while an employee's identity is not the pinned one.
        self._keys = DirectChatKeys(session)
        self._sender = DirectSender(CHANNEL, engine, self._keys, self._bot)
        self._changed = ChangedIdentity(CHANNEL, engine, self._keys, self._sender, MESSAGE_LIMIT)
        self._pruned = False
        session.listeners.append(self.on_sync)
        engine.on_erased.append(self._erased)

    async def _erased(self, inbound: Inbound) -> None:
        """After /delete (its answer sent), the chat and the person leave nio's store."""
        if inbound.channel != CHANNEL or not inbound.reply_to:
            return
        client = self._session.client
        room = client.rooms.get(inbound.reply_to) if client is not None else None
        if client is not None and room is not None:
            with contextlib.suppress(ReplyNotSent, *NETWORK_ERRORS):
                await self._say(
                    client, room, "trust.dm_left", inbound.user_id, inbound.language_hint
                )
        await leave_and_forget(self._session, inbound.reply_to, inbound.user_id)

    async def forget_the_forgotten(self) -> None:
        """At retention: a served chat whose person the bot keeps nothing about any more
        (their conversation expired, no open case) is forgotten as after /delete."""
        client = self._session.client
        for room_id in list(self._session.state.direct_rooms):
            room = client.rooms.get(room_id) if client is not None else None
            others = [u for u in room.users if u != self._bot] if room is not None else []
            if room is None or not room.encrypted or len(others) != 1:
                continue  # not served yet, or being left already
            if not await self._engine.knows(CHANNEL, others[0]):
                await leave_and_forget(self._session, room_id, others[0])

    async def on_sync(self, response: SyncResponse, catching_up: bool) -> None:
        """Invites first, then the messages of every served room, rooms side by side."""
        client = self._session.client
        assert client is not None
        self._keys.forget(response.device_list.changed)
        if not self._pruned:
            await self._keys.prune(self._changed.keeps_anything)
            self._pruned = True
        for room_id, invite in response.rooms.invite.items():
            if room_id not in self._other_rooms:
                await self._rooms.consider_invite(client, room_id, invite)
        work: list[Awaitable[None]] = []
        for room_id, joined in response.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None or room_id not in self._session.state.direct_rooms:
                continue
            if not await self._rooms.fit_to_serve(client, room):
                continue
            if catching_up:
                continue  # history from before this bot's first sync: not new messages
            if joined.timeline.limited and not self._joined_in(joined.timeline.events):
                log.warning("a direct chat had more new messages than one sync holds")
            events = [e for e in joined.timeline.events if e.sender != self._bot]
            if events:
                work.append(self._handle_room(client, room, events))
        await asyncio.gather(*work)

    def _joined_in(self, events: Sequence[Any]) -> bool:
        """Whether the bot's own join is among these events: what came before it is the
        chat's history from before the bot was there, not messages it missed."""
        return any(
            isinstance(event, RoomMemberEvent)
            and event.state_key == self._bot
            and event.membership == "join"
            and event.prev_membership != "join"  # not a change of the bot's display name
            for event in events
        )

    async def _resume(self, client: AsyncClient, room: MatrixRoom, person: str) -> None:
        """Encryption came on in a chat that waited for it: the conversation goes on."""
        await self._engine.handle(
            Inbound(CHANNEL, person, kind=InboundKind.RESUME, reply_to=room.room_id),
            self._replier(client, room),
        )

    # -- messages ---------------------------------------------------------------------

    async def _handle_room(self, client: AsyncClient, room: MatrixRoom, events: list[Any]) -> None:
        for event in events:
            if not self._rooms.allowed(event.sender):
                continue
            try:
                inbound = await self._inbound(client, room, event)
                if inbound is None:
                    continue
                replier = self._replier(client, room)
                if not await self._changed.held_back(client, room, inbound, replier):
                    await self._engine.handle(inbound, replier)
            except (ReplyNotSent, HomeserverUnreachable, *NETWORK_ERRORS) as exc:
                # The step is saved; the person sees the question again on their next message.
                log.error("reply in a direct chat not sent: %s", describe_failure(exc))

    async def _inbound(self, client: AsyncClient, room: MatrixRoom, event: Any) -> Inbound | None:
        base: dict[str, Any] = {"reply_to": room.room_id, "message_id": event.event_id}
        if not isinstance(event, MegolmEvent) and not getattr(event, "decrypted", False):
            if isinstance(event, (RoomMessageText, RoomMessageEmote, *_UNSUPPORTED)):
                # Anyone holding the person's token (or the server) can write in clear.
                log.warning("direct chat: a message was not acted on (not-encrypted)")
                await self._answer(client, room, "trust.dm_not_encrypted", event.sender)
            return None
        if isinstance(event, RoomMessageText | RoomMessageEmote):
            relation = event.source.get("content", {}).get("m.relates_to") or {}
            if relation.get("rel_type") == "m.replace":
                await self._answer(client, room, "channel.edit_ignored", event.sender)
                return None
            text = event.body
            if relation.get("m.in_reply_to"):
                text = without_reply_fallback(text)
            return Inbound(CHANNEL, event.sender, text=text, **base)
        if isinstance(event, MegolmEvent):
            await self._answer(client, room, "channel.undecryptable", event.sender)
            return None
        if isinstance(event, _UNSUPPORTED) or (
            # A message nio could not make sense of (an attachment without its file,
            # say): whatever it was, it was not text.
            isinstance(event, BadEvent | UnknownBadEvent)
            and event.source.get("type") in ("m.room.message", "m.sticker")
        ):
            return Inbound(CHANNEL, event.sender, kind=InboundKind.UNSUPPORTED, **base)
        # Notices (other bots), reactions, redactions, state: nothing to answer.
        return None

    async def _say(
        self, client: AsyncClient, room: MatrixRoom, key: str, person: str, lang: str | None = None
    ) -> None:
        text = await self._engine.notice(CHANNEL, person, key, lang)
        try:
            await self._sender.send(client, room, direct_message(text))
        except IdentityChanged:
            await self._changed.tell(client, room, person)

    async def _answer(self, client: AsyncClient, room: MatrixRoom, key: str, person: str) -> None:
        """A notice in answer to something the person sent: under their flood limit."""
        text = await self._engine.limited_notice(CHANNEL, person, key)
        if text is not None:
            await self._sender.send(client, room, direct_message(text))

    def _replier(
        self, client: AsyncClient, room: MatrixRoom
    ) -> Callable[[Sequence[Reply]], Awaitable[None]]:
        async def deliver(replies: Sequence[Reply]) -> None:
            try:
                for outgoing in compose(list(replies), MESSAGE_LIMIT):
                    choices = outgoing.question.choices if outgoing.question else ()
                    await self._sender.send(client, room, direct_message(outgoing.text, choices))
            except IdentityChanged:
                await self._changed.tell(client, room, self._sender.person(room))

        return deliver

    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        """A relay on the line, already persisted; the transaction id keeps a retry
        from doubling it. Choices are left out: a typed number answers the open
        question, so the text says what to type instead."""
        if address not in self._session.state.direct_rooms:
            raise RecipientGone("direct-chat-left")
        client = self._session.client
        room = client.rooms.get(address) if client is not None else None
        if client is None or room is None:
            raise DeliveryDeferred("direct-chat-not-synced-yet")
        if not room.encrypted:
            raise DeliveryDeferred("direct-chat-not-encrypted")
        if not self._rooms.only_its_person(room):
            raise DeliveryDeferred("direct-chat-not-one-to-one")  # the next sync leaves it
        refs = []
        try:
            for n, outgoing in enumerate(compose(list(replies), MESSAGE_LIMIT)):
                refs.append(
                    await self._sender.send(
                        client, room, direct_message(outgoing.text), f"{txn_id}-{n}"
                    )
                )
        except IdentityChanged as exc:
            if not self._changed.told(address):
                try:
                    await self._changed.tell(client, room, self._sender.person(room))
                except (ReplyNotSent, HomeserverUnreachable, *NETWORK_ERRORS) as failure:
                    log.warning("a direct chat waits; notice not sent: %s", type(failure).__name__)
            raise DeliveryDeferred("employee-identity-changed") from exc
        except (ReplyNotSent, HomeserverUnreachable, *NETWORK_ERRORS) as exc:
            raise DeliveryDeferred(f"matrix:{type(exc).__name__}") from exc
        return ",".join(refs)
