"""The advisers' rooms as the adviser's side of the line.

What the room's adviser writes in a case's thread goes to the employee (through the
relay outbox); commands there act on the case. Anything written elsewhere, in a
thread of an ended case, or that is not text, gets a short notice instead of
vanishing. Nobody but the configured adviser of the room is listened to, and only
when the message was decrypted from a device their pinned identity cross-signed; the
answers go out under the same room and device checks as a handoff.
"""

from __future__ import annotations

import logging
from typing import Any

from nio import (
    MegolmEvent,
    RoomEncryptedMedia,
    RoomMessageMedia,
    RoomMessageText,
    StickerEvent,
    SyncResponse,
)

from bot.config import Adviser, Config
from bot.line.desk import AdviserDesk, desk_help
from bot.matrix.render import without_reply_fallback
from bot.matrix.sender_trust import sender_problem
from bot.matrix.session import MatrixSession
from bot.sinks.base import DeliveryDeferred, ThreadPost, ThreadText
from bot.sinks.matrix_room import MatrixRoomSink
from bot.store import SqliteStore
from bot.util.failures import describe_failure

log = logging.getLogger(__name__)

_NOT_TEXT = (RoomMessageMedia, RoomEncryptedMedia, StickerEvent)


def thread_of(content: dict[str, Any]) -> str | None:
    """The event a message is about: its thread's root, or what it replies to."""
    relation = content.get("m.relates_to") or {}
    if relation.get("rel_type") == "m.thread":
        return relation.get("event_id")
    return (relation.get("m.in_reply_to") or {}).get("event_id")


class AdviserRooms:
    def __init__(
        self,
        session: MatrixSession,
        config: Config,
        desk: AdviserDesk,
        store: SqliteStore,
        sink: MatrixRoomSink,
    ) -> None:
        self._session = session
        self._desk = desk
        self._store = store
        self._sink = sink
        self._rooms = {a.room_id: a for a in config.advisers if a.room_id and a.matrix_user_id}
        session.listeners.append(self.on_sync)

    async def on_sync(self, response: SyncResponse, catching_up: bool) -> None:
        if catching_up:
            return  # what was written before the bot's first sync is not acted on
        for room_id, joined in response.rooms.join.items():
            adviser = self._rooms.get(room_id)
            if adviser is None:
                continue
            for event in joined.timeline.events:
                # The bot's own messages, and anyone else's, are not the adviser's word.
                if event.sender == adviser.matrix_user_id:
                    await self._handle(room_id, adviser, event)

    async def _handle(self, room_id: str, adviser: Adviser, event: Any) -> None:
        content = event.source.get("content") or {}
        root = thread_of(content)
        t = self._desk.texts(adviser)
        relation = content.get("m.relates_to") or {}
        if isinstance(event, MegolmEvent):
            answer: str | None = t("desk.undecryptable")
        elif relation.get("rel_type") == "m.replace":
            answer = t("desk.edit_not_relayed")
        elif isinstance(event, _NOT_TEXT):
            answer = t("desk.not_text")
        elif not isinstance(event, RoomMessageText):
            return  # reactions, redactions, state: nothing to pass on
        elif (problem := await sender_problem(self._session, room_id, event)) is not None:
            # Only the adviser's verified devices speak for the adviser.
            log.warning("adviser %s: a message was not acted on (%s)", adviser.id, problem)
            answer = t("trust.adviser_unverified")
        elif root is None:
            command = event.body.strip().split(maxsplit=1)[:1]
            help_asked = command and command[0].lower() in ("!help", "!hulp")
            in_room = await self._desk.in_room(adviser, event.event_id, event.body)
            if in_room is not None:
                # A registration's questions go in a thread of their own, on the command.
                root = event.event_id
                answer = in_room.text
            else:
                answer = desk_help(t) if help_asked else t("desk.not_in_thread")
        else:
            answer = await self._in_thread(room_id, adviser, root, event)
        if answer is not None:
            await self._answer(adviser, room_id, root, event.event_id, answer)

    async def _in_thread(self, room_id: str, adviser: Adviser, root: str, event: Any) -> str | None:
        case = await self._store.case_in_thread(room_id, root)
        text = without_reply_fallback(event.body)
        if case is None:
            registering = await self._desk.in_registration(adviser, root, event.event_id, text)
            if registering is not None:
                log.info("adviser %s answered a registration question", adviser.id)
                return registering.text
        desk = await self._desk.in_thread(case, adviser, event.event_id, text)
        log.info(
            "adviser %s wrote in the thread of case %s",
            adviser.id,
            case.case_ref if case else "unknown",
        )
        return desk.text

    async def _answer(
        self, adviser: Adviser, room_id: str, root: str | None, event_id: str, text: str
    ) -> None:
        # The event's id makes the answer's transaction id: a replayed sync answers once.
        # Outside a thread, the room given is none, so the answer goes unthreaded.
        post = ThreadPost(
            "-",
            adviser.id,
            room_id if root else "",
            root or "",
            ThreadText(text, notify=False),
            f"vertrouwd-answer-{event_id}",
        )
        try:
            await self._sink.post_in_thread(post)
        except DeliveryDeferred as exc:
            log.warning("answer to adviser %s not sent: %s", adviser.id, exc.reason)
        except Exception as exc:  # noqa: BLE001 - an answer lost must not stop the sync
            log.error("answer to adviser %s not sent: %s", adviser.id, describe_failure(exc))
