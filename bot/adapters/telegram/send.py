"""Sending on Telegram: replies composed into messages, buttons, retries that cannot
show a message twice, and relays sent piece by piece."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import Application

from bot.adapters.outgoing import compose
from bot.adapters.telegram.delivery import Bounded, SentPieces, may_have_arrived
from bot.messages import Reply
from bot.sinks.base import DeliveryDeferred, DeliveryRefused, RecipientGone

_SEPARATOR = ":"
# Telegram's servers would fetch links in a text to show a preview: not for these chats.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_SEND_ATTEMPTS = 3
# A sent message whose id never came back (it may have arrived): not sent again.
UNCONFIRMED = 0

log = logging.getLogger(__name__)


def callback_data(question: str | None, choice_id: str) -> str:
    data = f"{question or ''}{_SEPARATOR}{choice_id}"
    if len(data.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
        # Config validation keeps ids short; reaching this is a programming error.
        raise ValueError("callback data over Telegram's 64 bytes")
    return data


class TelegramSender:
    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._app = app
        # chat id -> (message id, question token) of the keyboard still on screen
        self.open_keyboards = Bounded()
        self._relay_pieces = SentPieces()

    async def send_composed(
        self, chat_id: int, replies: Sequence[Reply], topic: int | None = None
    ) -> list[int | None]:
        """Replies joined into as few messages as fit, the question's buttons last; the
        message ids (None where the person has blocked the bot)."""
        return [
            await self.send(chat_id, Reply(outgoing.text), outgoing.question, topic)
            for outgoing in compose(list(replies), MessageLimit.MAX_TEXT_LENGTH)
        ]

    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        """A relay on the line (the adviser's message, a check-in), already persisted.

        Telegram has no transaction ids: the pieces that went out are remembered under
        the relay's (in this process), so a retry sends only the rest, and the relay is
        marked sent right after this returns; only a restart in between could send a
        piece twice. A refusal (a chat Telegram does not know, a text it cannot take) is
        final."""
        if not self._app.running:
            raise DeliveryDeferred("telegram-not-running")
        sent = self._relay_pieces.of(txn_id)
        pieces = compose(list(replies), MessageLimit.MAX_TEXT_LENGTH)
        for outgoing in pieces[len(sent) :]:
            try:
                message_id = await self.send(int(address), Reply(outgoing.text), outgoing.question)
            except BadRequest as exc:
                self._relay_pieces.done(txn_id)
                raise DeliveryRefused(f"telegram:{type(exc).__name__}") from exc
            except TelegramError as exc:  # not reachable, or rate limited past the retries
                raise DeliveryDeferred(f"telegram:{type(exc).__name__}") from exc
            if message_id is None:
                self._relay_pieces.done(txn_id)
                raise RecipientGone("blocked-by-person")
            self._relay_pieces.add(txn_id, message_id)
            sent.append(message_id)
        self._relay_pieces.done(txn_id)
        return ",".join(str(message_id) for message_id in sent)

    async def send(
        self,
        chat_id: int,
        reply: Reply,
        question: Reply | None = None,
        topic: int | None = None,
    ) -> int | None:
        """Send one message; its id, None when the person has blocked the bot, or
        UNCONFIRMED when it went out but no answer came back (it is not sent again:
        Telegram may already show it)."""
        markup = None
        if question is not None and question.choices:
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            c.label, callback_data=callback_data(question.question, c.id)
                        )
                    ]
                    for c in question.choices
                ]
            )
        text = html.escape(reply.text, quote=False)
        delay = 1.0
        for attempt in range(1, _SEND_ATTEMPTS + 1):
            try:
                sent: Message = await self._app.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup,
                    message_thread_id=topic,
                )
                break
            except Forbidden:
                log.info("a person blocked the bot; the reply was not sent")
                return None
            except NetworkError as exc:
                if isinstance(exc, BadRequest):  # refused as it is: trying again cannot help
                    raise
                if may_have_arrived(exc):
                    log.warning(
                        "sending: no answer from Telegram (%s); not sent again", type(exc).__name__
                    )
                    return UNCONFIRMED
                if attempt == _SEND_ATTEMPTS:
                    raise
                log.warning("sending failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay *= 2
        if markup is not None and question is not None:
            self.open_keyboards.remember(chat_id, (sent.message_id, question.question))
        return sent.message_id
