"""The Matrix channel: employees in end-to-end encrypted direct chats with the bot.

The bot joins direct chats from allowed homeservers only, makes sure they are
encrypted before it asks anything, and serves nothing but the chats it joined that
way (never an adviser's room). Each sync is handled before its token is saved, and
the engine skips messages it already handled, so a crash loses and doubles nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nio import (
    AsyncClient,
    BadEvent,
    InviteInfo,
    InviteMemberEvent,
    MatrixRoom,
    MegolmEvent,
    RoomEncryptedMedia,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageMedia,
    RoomMessageText,
    RoomMessageUnknown,
    RoomPutStateResponse,
    RoomSendResponse,
    StickerEvent,
    SyncResponse,
    UnknownBadEvent,
)

from bot.adapters.matrix_dm.identity import ChangedIdentity
from bot.adapters.outgoing import compose
from bot.config import MatrixDmSettings
from bot.engine import Engine
from bot.matrix.direct_keys import DirectChatKeys, IdentityChanged
from bot.matrix.errors import HomeserverUnreachable
from bot.matrix.forget import forget_person, forget_room, leave_and_forget
from bot.matrix.guard import MEGOLM
from bot.matrix.http import NETWORK_ERRORS
from bot.matrix.render import direct_message, without_reply_fallback
from bot.matrix.session import MatrixSession
from bot.messages import Inbound, InboundKind, Reply
from bot.sinks.base import DeliveryDeferred, RecipientGone
from bot.util.failures import describe_failure

CHANNEL = "matrix"

# Far below Matrix's 64 KiB event limit, with room for the HTML copy.
_MESSAGE_LIMIT = 16_000
_UNSUPPORTED = (RoomMessageMedia, RoomEncryptedMedia, StickerEvent, RoomMessageUnknown)

log = logging.getLogger(__name__)


class ReplyNotSent(Exception):
    """The homeserver refused a reply; the step it answers is saved all the same."""


def server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


class MatrixDmChannel:
    def __init__(
        self,
        session: MatrixSession,
        settings: MatrixDmSettings,
        engine: Engine,
        other_rooms: frozenset[str] = frozenset(),
    ) -> None:
        self._session = session
        self._settings = settings
        self._engine = engine
        # The advisers' rooms and the admin room: their invites are not for this channel.
        self._other_rooms = other_rooms
        self._bot = session.settings.user_id
        # Rooms where the bot asked for encryption and greets once it is on.
        self._awaiting_encryption: set[str] = set()
        # Who gets the room keys (Element's rule for people), and what the chat does
        # while an employee's identity is not the pinned one.
        self._keys = DirectChatKeys(session)
        self._changed = ChangedIdentity(CHANNEL, engine, self._keys, self._send, _MESSAGE_LIMIT)
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
                await self._consider_invite(client, room_id, invite)
        work: list[Awaitable[None]] = []
        for room_id, joined in response.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None or room_id not in self._session.state.direct_rooms:
                continue
            if not await self._fit_to_serve(client, room):
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

    # -- rooms ------------------------------------------------------------------------

    async def _consider_invite(self, client: AsyncClient, room_id: str, invite: InviteInfo) -> None:
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
        if server_of(own.sender) not in self._settings.allowed_homeservers:
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

    async def _fit_to_serve(self, client: AsyncClient, room: MatrixRoom) -> bool:
        """One other person, from an allowed server, and end-to-end encryption on."""
        others = [user for user in room.users if user != self._bot]
        if (
            not self._only_its_person(room)
            or server_of(others[0]) not in self._settings.allowed_homeservers
        ):
            if others:
                await self._say(client, room, "channel.private_only", others[0])
            await self._leave(client, room.room_id, "not one to one" if others else "left alone")
            return False
        person = others[0]
        if room.encrypted:
            if room.room_id in self._awaiting_encryption:
                self._awaiting_encryption.discard(room.room_id)
                await self._say(client, room, "channel.encryption_on", person)
                await self._engine.handle(
                    Inbound(CHANNEL, person, kind=InboundKind.RESUME, reply_to=room.room_id),
                    self._replier(client, room),
                )
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

    def _only_its_person(self, room: MatrixRoom) -> bool:
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

    # -- messages ---------------------------------------------------------------------

    async def _handle_room(self, client: AsyncClient, room: MatrixRoom, events: list[Any]) -> None:
        for event in events:
            if server_of(event.sender) not in self._settings.allowed_homeservers:
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
            await self._send(client, room, direct_message(text))
        except IdentityChanged:
            await self._changed.tell(client, room, person)

    async def _answer(self, client: AsyncClient, room: MatrixRoom, key: str, person: str) -> None:
        """A notice in answer to something the person sent: under their flood limit."""
        text = await self._engine.limited_notice(CHANNEL, person, key)
        if text is not None:
            await self._send(client, room, direct_message(text))

    def _replier(
        self, client: AsyncClient, room: MatrixRoom
    ) -> Callable[[Sequence[Reply]], Awaitable[None]]:
        async def deliver(replies: Sequence[Reply]) -> None:
            try:
                for outgoing in compose(list(replies), _MESSAGE_LIMIT):
                    choices = outgoing.question.choices if outgoing.question else ()
                    await self._send(client, room, direct_message(outgoing.text, choices))
            except IdentityChanged:
                await self._changed.tell(client, room, self._person(room))

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
        if not self._only_its_person(room):
            raise DeliveryDeferred("direct-chat-not-one-to-one")  # the next sync leaves it
        refs = []
        try:
            for n, outgoing in enumerate(compose(list(replies), _MESSAGE_LIMIT)):
                refs.append(
                    await self._send(client, room, direct_message(outgoing.text), f"{txn_id}-{n}")
                )
        except IdentityChanged as exc:
            if not self._changed.told(address):
                try:
                    await self._changed.tell(client, room, self._person(room))
                except (ReplyNotSent, HomeserverUnreachable, *NETWORK_ERRORS) as failure:
                    log.warning("a direct chat waits; notice not sent: %s", type(failure).__name__)
            raise DeliveryDeferred("employee-identity-changed") from exc
        except (ReplyNotSent, HomeserverUnreachable, *NETWORK_ERRORS) as exc:
            raise DeliveryDeferred(f"matrix:{type(exc).__name__}") from exc
        return ",".join(refs)

    async def _send(
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
            person = self._person(room)
            keys = await self._changed.keys_of(person)

            async def reason() -> str:
                return await self._engine.notice(CHANNEL, person, "key_sharing.withheld_reason")

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

    def _person(self, room: MatrixRoom) -> str:
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
