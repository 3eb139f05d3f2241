"""The Telegram channel itself: the python-telegram-bot application built, started
(waiting out an unreachable Telegram, with polling or a webhook), served until asked
to stop, and stopped; the command menu in every language; readiness for /readyz; and
relays on the line sent to a chat.

Reading updates is ``inbound.py``'s work, sending ``send.py``'s.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence

from telegram import BotCommand, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ContextTypes,
    TypeHandler,
)

from bot.adapters.telegram.inbound import CHANNEL, TelegramInbound
from bot.adapters.telegram.send import TelegramSender
from bot.adapters.telegram.updates import ChatOrderedUpdates, unless_stopped
from bot.config import ConfigError, TelegramSettings
from bot.flows.commands import COMMANDS
from bot.line.relay import RelayWorker
from bot.messages import Conversations, Reply
from bot.ops.logs import withhold_content
from bot.ops.observe import NO_OBSERVER, Observer
from bot.texts.catalog import Catalog
from bot.util.failures import describe_failure

ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
# Telegram takes about 30 messages a second from a bot. Eight chats handled side by
# side, over eight connections, carry that even at 250 ms a request; more would only
# add bookkeeping (tasks, httpcore's pool queue) to every message.
_MAX_CONCURRENT_UPDATES = 8
_CONNECTIONS = 8
_START_RETRY_MAX_SECONDS = 60.0
# Setting up polling or the webhook: tries before the bot gives up and says why.
_BOOTSTRAP_ATTEMPTS = 8

__all__ = ["ALLOWED_UPDATES", "CHANNEL", "TelegramChannel"]
log = logging.getLogger(__name__)


class TelegramChannel:
    observer: Observer = NO_OBSERVER  # counts channel errors for the metrics
    ops_name = CHANNEL  # its name in /readyz

    def __init__(
        self,
        settings: TelegramSettings,
        token: str,
        engine: Conversations,
        catalog: Callable[[], Catalog],
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._catalog = catalog
        # Set when the line's relays to Telegram go through this channel.
        self.relay: RelayWorker | None = None
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
        self._inbound = TelegramInbound(self.app.bot, engine, catalog, self.sender)
        self.app.add_handler(TypeHandler(Update, self._inbound.on_update))
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

    # -- sending ------------------------------------------------------------------------

    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        """A relay on the line (the adviser's message, a check-in), already persisted."""
        return await self.sender.send_to(address, replies, txn_id)
