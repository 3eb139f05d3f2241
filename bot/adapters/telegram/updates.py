"""How updates reach the Telegram channel: one chat's in order, no chat holding back
the others; and start-up steps that give way to a stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from telegram import Message, Update
from telegram.ext import BaseUpdateProcessor

from bot.util.locks import KeyedLocks

# PTB's own limit is taken before an update waits for its chat: ours comes after.
_UNLIMITED = 1_000_000


def topic_of(message: object) -> int | None:
    """The topic a private chat's message came from (topic mode on), to answer there."""
    if isinstance(message, Message) and message.is_topic_message:
        return message.message_thread_id
    return None


async def unless_stopped(work: Awaitable[bool], stopping: asyncio.Event) -> bool:
    """The result of ``work``; False, the work cancelled, when ``stopping`` is set first
    (a start-up step waiting out Telegram's "retry after" must not outlast a SIGTERM)."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return not task.cancelled() and task.result()


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Updates of one chat in order, one at a time; different chats side by side.

    An update waits for its chat's turn first and only then for one of the slots, so
    a chat sending many messages at once holds one slot, never all of them."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(_UNLIMITED)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._chats: KeyedLocks[int | None] = KeyedLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        async with self._chats.hold(chat.id if chat else None), self._slots:
            await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
