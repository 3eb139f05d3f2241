"""What people do on Telegram, read as ``Inbound`` messages for the engine: a typed or
forwarded message, a button press, an edit, the bot added to a group (which it leaves).

The engine's replies go back through the sender to the chat (and topic) they came
from; a pressed keyboard is taken off its message here, as part of reading the press.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    ChatMember,
    ChatMemberUpdated,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.adapters.telegram.delivery import Bounded, EditMemory
from bot.adapters.telegram.send import NO_PREVIEW, TelegramSender
from bot.adapters.telegram.updates import topic_of
from bot.messages import Conversations, Inbound, InboundKind, Reply
from bot.texts.catalog import Catalog

CHANNEL = "telegram"
_SEPARATOR = ":"

log = logging.getLogger(__name__)


def parse_callback(data: str | None) -> tuple[str | None, str]:
    """(question token, choice id); unreadable data yields a choice no question has."""
    token, separator, choice = (data or "").partition(_SEPARATOR)
    if not separator:
        return None, ""
    return token or None, choice


def language_of(user: User | None, catalog: Catalog) -> str | None:
    """Telegram's language code for the person, where the bot speaks it (en-GB -> en)."""
    code = (user.language_code or "") if user else ""
    base = code.split("-")[0].lower()
    return base if base and catalog.supports(base) else None


class TelegramInbound:
    """Reads each update into an ``Inbound`` and hands it to the engine, with a way
    to answer in the chat it came from."""

    def __init__(
        self,
        bot: Bot,
        engine: Conversations,
        catalog: Callable[[], Catalog],
        sender: TelegramSender,
    ) -> None:
        self._bot = bot
        self._engine = engine
        self._catalog = catalog
        self._sender = sender
        # Groups told once that the bot talks one to one (it leaves them every time).
        self._told_groups = Bounded()
        self._edits = EditMemory()

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await self._on_press(update.callback_query)
        elif update.edited_message is not None:
            await self._on_edit(update.edited_message)
        elif update.message is not None:
            await self._on_message(update.message)
        elif update.my_chat_member is not None:
            await self._on_membership(update.my_chat_member)

    async def _on_message(self, message: Message) -> None:
        person = message.from_user
        if message.chat.type != ChatType.PRIVATE:
            if not any(member.id == self._bot.id for member in message.new_chat_members):
                await self._leave_group(message.chat, person)
            # else the service message of the bot's own arrival: my_chat_member says so too
            return
        if person is None or person.is_bot:
            return
        if message.text is not None:
            kind = InboundKind.MESSAGE
            self._edits.received(message.chat.id, message.message_id, message.text)
        elif message.effective_attachment is not None:
            # Photos, voice, stickers, files, places, contacts: never downloaded or kept.
            kind = InboundKind.UNSUPPORTED
        else:
            return  # a service message (pinned, joined): nothing the person said
        # Buttons above a question answered by typing stay on screen, but disabled: the
        # question token makes a later press there a gentle "that was an earlier
        # question" (and takes those buttons away). Editing them away at once would
        # double the Bot API calls per typed message.
        inbound = Inbound(
            CHANNEL,
            str(person.id),
            text=message.text if kind is InboundKind.MESSAGE else None,
            kind=kind,
            language_hint=language_of(person, self._catalog()),
            reply_to=str(message.chat.id),
            message_id=str(message.message_id),
            # Someone else's words: taken as text, never as a choice or a command.
            forwarded=message.forward_origin is not None,
        )
        await self._engine.handle(inbound, self._replier(message.chat.id, topic_of(message)))

    async def _on_press(self, query: CallbackQuery) -> None:
        message = query.message
        await self._answer_press(query)
        if message is None or message.chat.type != ChatType.PRIVATE:
            return
        token, choice = parse_callback(query.data)
        inbound = Inbound(
            CHANNEL,
            str(query.from_user.id),
            choice=choice,
            question=token,
            language_hint=language_of(query.from_user, self._catalog()),
            reply_to=str(message.chat.id),
            message_id=f"press-{query.id}",
        )
        if isinstance(message, Message):  # else too old for Telegram to show or edit
            await self._mark_pressed(message, inbound, query.data)
        await self._engine.handle(inbound, self._replier(message.chat.id, topic_of(message)))

    async def _on_edit(self, message: Message) -> None:
        """An edited message never re-runs a step. A changed text is answered once (what
        counts is what was sent first); other edits, such as each move of a shared live
        location, are not answered at all."""
        person = message.from_user
        if message.chat.type != ChatType.PRIVATE or person is None or person.is_bot:
            return
        if message.text is None or not self._edits.answer_edit(
            message.chat.id, message.message_id, message.text
        ):
            return
        hint = language_of(person, self._catalog())
        text = await self._engine.limited_notice(
            CHANNEL, str(person.id), "channel.edit_ignored", hint
        )
        if text is not None:
            await self._sender.send(message.chat.id, Reply(text), topic=topic_of(message))

    async def _on_membership(self, change: ChatMemberUpdated) -> None:
        joined = change.new_chat_member.status in (
            ChatMember.MEMBER,
            ChatMember.ADMINISTRATOR,
            ChatMember.RESTRICTED,
        )
        if change.chat.type != ChatType.PRIVATE and joined:
            await self._leave_group(change.chat, change.from_user)

    async def _leave_group(self, chat: Chat, person: User | None) -> None:
        """Leave, always; say first, once per group, that the bot talks one to one. A
        channel's subscribers are not told: they did not add the bot."""
        if chat.type != ChatType.CHANNEL and chat.id not in self._told_groups:
            self._told_groups.remember(chat.id, True)
            catalog = self._catalog()
            lang = language_of(person, catalog) or catalog.default_language
            try:
                await self._sender.send(chat.id, Reply(catalog.texts(lang)("channel.private_only")))
            except TelegramError as exc:  # muted, read-only: leave all the same
                log.info("could not say goodbye to a group: %s", type(exc).__name__)
        try:
            await self._bot.leave_chat(chat.id)
        except TelegramError as exc:
            log.warning("could not leave a %s chat: %s", chat.type, type(exc).__name__)
            return
        log.info("left a %s chat: the bot talks in private chats only", chat.type)

    # -- keyboards ----------------------------------------------------------------------

    async def _answer_press(self, query: CallbackQuery) -> None:
        try:
            await query.answer()  # stops the button's spinner
        except TelegramError as exc:  # too old to answer, or Telegram not reachable
            log.info("button press not answered: %s", type(exc).__name__)

    async def _mark_pressed(self, message: Message, press: Inbound, data: str | None) -> None:
        """Take the keyboard off the pressed message; show the choice if it was current.
        Failing that (no room for the choice, Telegram not reachable), the press still
        counts."""
        current = self._sender.open_keyboards.pop(message.chat.id, None)
        label = next(
            (
                button.text
                for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
                for button in row
                if button.callback_data == data
            ),
            None,
        )
        try:
            if current == (message.message_id, press.question) and label is not None:
                chosen = await self._engine.notice(
                    CHANNEL, press.user_id, "channel.chosen", press.language_hint, choice=label
                )
                escaped = html.escape(chosen, quote=False)
                try:
                    await message.edit_text(
                        f"{message.text_html}\n\n<i>{escaped}</i>",
                        parse_mode=ParseMode.HTML,
                        link_preview_options=NO_PREVIEW,
                    )
                    return
                except BadRequest as exc:  # too long with the choice: the buttons go
                    log.info("could not show the choice: %s", type(exc).__name__)
            if message.reply_markup is not None:
                await message.edit_reply_markup(reply_markup=None)
        except TelegramError as exc:  # already edited, too old, or Telegram not reachable
            log.info("could not take a keyboard off: %s", type(exc).__name__)

    # -- answering ----------------------------------------------------------------------

    def _replier(
        self, chat_id: int, topic: int | None = None
    ) -> Callable[[Sequence[Reply]], Awaitable[None]]:
        async def deliver(replies: Sequence[Reply]) -> None:
            await self._sender.send_composed(chat_id, replies, topic)

        return deliver
