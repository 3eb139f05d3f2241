"""The Telegram channel: python-telegram-bot, private chats only, choices as inline buttons."""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

from telegram import (
    BotCommand,
    CallbackQuery,
    Chat,
    ChatMember,
    ChatMemberUpdated,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ContextTypes,
    TypeHandler,
)

from bot.adapters.telegram.delivery import Bounded, EditMemory
from bot.adapters.telegram.send import NO_PREVIEW, TelegramSender, callback_data
from bot.adapters.telegram.updates import ChatOrderedUpdates, topic_of, unless_stopped
from bot.config import ConfigError, TelegramSettings
from bot.engine import Engine
from bot.flows.commands import COMMANDS
from bot.line.relay import RelayWorker
from bot.messages import Inbound, InboundKind, Reply
from bot.ops.logs import withhold_content
from bot.ops.observe import NO_OBSERVER, Observer
from bot.texts.catalog import Catalog
from bot.util.failures import describe_failure

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
_SEPARATOR = ":"
# Telegram takes about 30 messages a second from a bot. Eight chats handled side by
# side, over eight connections, carry that even at 250 ms a request; more would only
# add bookkeeping (tasks, httpcore's pool queue) to every message.
_MAX_CONCURRENT_UPDATES = 8
_CONNECTIONS = 8
_START_RETRY_MAX_SECONDS = 60.0
# Setting up polling or the webhook: tries before the bot gives up and says why.
_BOOTSTRAP_ATTEMPTS = 8

__all__ = ["ALLOWED_UPDATES", "CHANNEL", "TelegramChannel", "callback_data", "parse_callback"]
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


class TelegramChannel:
    observer: Observer = NO_OBSERVER  # counts channel errors for the metrics
    ops_name = CHANNEL  # its name in /readyz

    def __init__(
        self,
        settings: TelegramSettings,
        token: str,
        engine: Engine,
        catalog: Callable[[], Catalog],
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._catalog = catalog
        # Set when the line's relays to Telegram go through this channel.
        self.relay: RelayWorker | None = None
        # Groups told once that the bot talks one to one (it leaves them every time).
        self._told_groups = Bounded()
        self._edits = EditMemory()
        self.app = (
            Application.builder()
            .token(token)
            .base_url(f"{settings.api_base_url}/bot")
            .base_file_url(f"{settings.api_base_url}/file/bot")
            .rate_limiter(
                AIORateLimiter(
                    overall_max_rate=settings.max_messages_per_second,
                    max_retries=settings.retries_after_429,
                )
            )
            .concurrent_updates(ChatOrderedUpdates(_MAX_CONCURRENT_UPDATES))
            .get_updates_read_timeout(settings.poll_timeout_seconds + 10)
            .connection_pool_size(_CONNECTIONS)
            .job_queue(None)
            .build()
        )
        self.sender = TelegramSender(self.app)
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
        # PTB quotes whole updates when one fails to parse: its loggers keep to what
        # went wrong. All of its modules are imported by now.
        withhold_content("telegram")
        withhold_content("tornado")

    # -- lifecycle --------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Serve until ``stopping`` is set; updates already fetched are handled first."""
        if not await self._initialize(stopping):
            return
        try:
            if not await unless_stopped(self._start(stopping), stopping):
                return
            log.info("telegram channel serving (%s)", self._settings.mode)
            if self.relay is not None:
                self.relay.serve(CHANNEL, self)
            await stopping.wait()
        finally:
            if self.relay is not None:
                self.relay.senders.pop(CHANNEL, None)
            if self.app.updater is not None and self.app.updater.running:
                await self.app.updater.stop()
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
            log.info("telegram channel stopped")

    async def _start(self, stopping: asyncio.Event) -> bool:
        await self._register_commands()
        await self.app.start()
        return await self._start_updates(stopping)

    async def _initialize(self, stopping: asyncio.Event) -> bool:
        """Connect (getMe), waiting out an unreachable Telegram; a refused token is fatal."""
        delay = 1.0
        while not stopping.is_set():
            try:
                await self.app.initialize()
                return True
            except InvalidToken as exc:
                raise ConfigError("telegram: the bot token was refused by Telegram") from exc
            except NetworkError as exc:
                self.observer.channel_error(CHANNEL)
                log.warning(
                    "telegram not reachable (%s); retrying in %gs", type(exc).__name__, delay
                )
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, _START_RETRY_MAX_SECONDS)
        return False

    async def _start_updates(self, stopping: asyncio.Event) -> bool:
        """Polling or the webhook set up; False when asked to stop first.

        PTB's own retries would go on for ever, silently; these are counted, logged,
        and wait on ``stopping``. A refusal (the webhook URL) is not retried."""
        delay = 1.0
        for attempt in range(1, _BOOTSTRAP_ATTEMPTS + 1):
            try:
                await self._start_updater()
                return True
            except BadRequest as exc:
                webhook = self._settings.mode == "webhook"
                hint = "; check telegram.webhook.public_url" if webhook else ""
                raise ConfigError(
                    f"telegram: Telegram refused to set up {self._settings.mode}"
                    f" ({exc.message}){hint}"
                ) from exc
            except TelegramError as exc:
                log.warning(
                    "telegram: setting up %s failed (%s), attempt %d of %d",
                    self._settings.mode,
                    type(exc).__name__,
                    attempt,
                    _BOOTSTRAP_ATTEMPTS,
                )
            try:
                await asyncio.wait_for(stopping.wait(), delay)
                return False
            except TimeoutError:
                delay = min(delay * 2, _START_RETRY_MAX_SECONDS)
        raise ConfigError(
            f"telegram: could not set up {self._settings.mode} with Telegram in"
            f" {_BOOTSTRAP_ATTEMPTS} attempts; check the connection to telegram.api_base_url"
        )

    async def _start_updater(self) -> None:
        updater = self.app.updater
        assert updater is not None  # built with the default updater
        if self._settings.mode == "webhook":
            hook = self._settings.webhook
            await updater.start_webhook(
                listen=hook.listen,
                port=hook.port,
                url_path=hook.path,
                webhook_url=hook.public_url,
                # A fresh secret each start: only Telegram, told it just now, knows it.
                secret_token=secrets.token_urlsafe(32),
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
                bootstrap_retries=0,
            )
        else:
            await updater.start_polling(
                timeout=self._settings.poll_timeout_seconds,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
                bootstrap_retries=0,
                error_callback=self._on_polling_error,
            )

    async def texts_changed(self, catalog: Catalog) -> None:
        """New texts are in use: the command menu follows them."""
        if self.app.running:
            await self._register_commands()

    async def _register_commands(self) -> None:
        """The command menu in every language the bot speaks; the default for the rest."""
        catalog = self._catalog()
        languages = [*catalog.languages(), None]
        for lang in languages:
            texts = catalog.texts(lang or catalog.default_language)
            commands = [BotCommand(name, texts(f"commands.{name}")) for name in COMMANDS]
            try:
                await self.app.bot.set_my_commands(commands, language_code=lang)
            except TelegramError as exc:
                log.warning("could not register the command menu: %s", type(exc).__name__)

    async def readiness(self) -> str | None:
        """None while serving and Telegram answers; else what is wrong (for /readyz)."""
        updater = self.app.updater
        if not self.app.running or updater is None or not updater.running:
            return "not serving (yet)"
        try:
            await self.app.bot.get_me(connect_timeout=5, read_timeout=5)
        except TelegramError as exc:
            return f"Telegram does not answer ({type(exc).__name__})"
        return None

    def _on_polling_error(self, exc: TelegramError) -> None:
        self.observer.channel_error(CHANNEL)
        log.warning("telegram polling failed, retrying: %s", type(exc).__name__)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        self.observer.channel_error(CHANNEL)
        log.error("telegram update failed: %s", describe_failure(error) if error else "unknown")

    # -- updates ----------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
            if not any(member.id == self.app.bot.id for member in message.new_chat_members):
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
            await self.sender.send(message.chat.id, Reply(text), topic=topic_of(message))

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
                await self.sender.send(chat.id, Reply(catalog.texts(lang)("channel.private_only")))
            except TelegramError as exc:  # muted, read-only: leave all the same
                log.info("could not say goodbye to a group: %s", type(exc).__name__)
        try:
            await self.app.bot.leave_chat(chat.id)
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
        current = self.sender.open_keyboards.pop(message.chat.id, None)
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

    # -- sending ------------------------------------------------------------------------

    def _replier(
        self, chat_id: int, topic: int | None = None
    ) -> Callable[[Sequence[Reply]], Awaitable[None]]:
        async def deliver(replies: Sequence[Reply]) -> None:
            await self.sender.send_composed(chat_id, replies, topic)

        return deliver

    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        """A relay on the line (the adviser's message, a check-in), already persisted."""
        return await self.sender.send_to(address, replies, txn_id)
