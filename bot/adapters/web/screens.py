"""The web chat's screens: what each person's page shows, kept sealed in the store, and
the open pages waiting to hear that theirs changed.

A step's replies and the line's relays both land here; the page is drawn from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from bot.flows.machine import INTAKE_STATES
from bot.keys.crypto import UserKey
from bot.messages import Reply
from bot.sinks.base import RecipientGone
from bot.store import SqliteStore
from bot.store.web_screens import WebScreen
from bot.util.locks import KeyedLocks

log = logging.getLogger(__name__)

_LINE_KEPT = 50
_RELAYS_KEPT = 50
_CACHED = 5000
BOT, YOU, ADVISER = "bot", "you", "adviser"


def entry(reply: Reply, who: str) -> dict[str, Any]:
    progress = reply.progress
    return {
        "who": who,
        "text": reply.text,
        "choices": [[c.id, c.label] for c in reply.choices],
        "question": reply.question,
        "progress": [progress.number, progress.total, progress.follow_up] if progress else None,
    }


def asked(screen: WebScreen) -> dict[str, Any] | None:
    """The question on the person's screen (the last entry with buttons), if any."""
    return next((e for e in reversed(screen.current) if e["choices"]), None)


def label_of(screen: WebScreen, choice: str) -> str | None:
    """The words of the button ``choice`` on the screen's question: the person's answer,
    shown back to them."""
    question = asked(screen)
    return (
        next((label for id_, label in question["choices"] if id_ == choice), None)
        if question
        else None
    )


def _draft_waits(state: str | None, said: list[dict[str, Any]]) -> bool:
    """Whether the person has an unsent request to come back to: inside the intake, at
    its cancel question, or at a menu that offers to continue it."""
    if state in INTAKE_STATES or state == "confirm_cancel":
        return True
    return any(c[0] == "continue" for e in said for c in e["choices"])


def address_of(user: UserKey) -> str:
    """The web channel's reply address: the person's keyed hash, never the code."""
    return user.hex()


class Screens:
    """This process is the only writer of web screens (the web channel runs in one
    process), so the screens last used stay in memory too, written through."""

    def __init__(
        self, store: SqliteStore, clock: Callable[[], float], cached: int = _CACHED
    ) -> None:
        self._store = store
        self._clock = clock
        self.locks: KeyedLocks[UserKey] = KeyedLocks()
        self._listeners: dict[UserKey, set[asyncio.Queue[int]]] = {}
        # Kept as JSON: each load gets its own copy, cheaper than a deep copy.
        self._cache: OrderedDict[UserKey, bytes] = OrderedDict()
        self._cached = cached

    async def load(self, user: UserKey) -> WebScreen | None:
        cached = self._cache.get(user)
        if cached is None:
            screen = await self._store.load_web_screen(user)
            if screen is not None:
                self._remember(user, screen)
            return screen
        self._cache.move_to_end(user)
        return WebScreen.from_json(cached)

    def _remember(self, user: UserKey, screen: WebScreen | bytes) -> None:
        self._cache[user] = screen if isinstance(screen, bytes) else screen.to_json()
        self._cache.move_to_end(user)
        while len(self._cache) > self._cached:
            self._cache.popitem(last=False)

    async def save(self, user: UserKey, screen: WebScreen) -> None:
        screen.version += 1
        data = screen.to_json()  # once, for the store and the cache
        await self._store.save_web_screen(user, data, self._clock())
        self._remember(user, data)
        self._notify(user, screen.version)

    async def drop(self, user: UserKey) -> None:
        self._cache.pop(user, None)
        await self._store.drop_web_screen(user)
        self._notify(user, -1)

    def forget(self) -> None:
        """After the store's purge: screens are read again from the store."""
        self._cache.clear()

    async def after_step(
        self,
        user: UserKey,
        typed: str | None,
        replies: Sequence[Reply],
        choice: str | None = None,
    ) -> WebScreen | None:
        """Put a step's replies on the person's screen, after the person's own answer
        (``typed``, or the words of the button ``choice`` on the screen); None when
        nothing of the person is left (they erased their data): then the screen goes
        too."""
        person = await self._store.web_person(user)
        if not person.known:
            await self.drop(user)
            return None
        screen = await self.load(user) or WebScreen()
        if not replies and screen.current:
            return screen  # a form sent twice, or a flood: nothing was read
        has_case = person.has_open_case
        screen.lang = person.lang
        said = [entry(r, BOT) for r in replies]
        if not any(r.question for r in replies):
            # No new question (a message passed on to the adviser, a flood notice): the
            # one on screen still stands, and so do its buttons.
            standing = next((e for e in reversed(screen.current) if e["question"]), None)
            said += [standing] if standing else []
        answer = typed or (label_of(screen, choice) if choice else None)
        current = [entry(Reply(answer), YOU), *said] if answer else said
        if has_case and not screen.had_case:
            # The request was just sent: the code is shown until the person says they
            # have written it down, and what was typed in the intake leaves the screen.
            screen.code_pending, screen.code_for = True, "sent"
            current = said
        screen.in_intake = _draft_waits(person.state, said)
        if typed and person.sent_relay > screen.sent_relay:
            # Passed on to the adviser (an answer to a new request's question is not:
            # it goes with that request).
            screen.line = [*screen.line, entry(Reply(typed), YOU)][-_LINE_KEPT:]
            current = said
        screen.sent_relay = person.sent_relay
        screen.had_case = has_case
        if current:
            screen.current = current
        await self.save(user, screen)
        return screen

    async def add_relay(self, user: UserKey, replies: Sequence[Reply], txn_id: str) -> None:
        async with self.locks.hold(user):
            if not (await self._store.web_person(user)).known:
                raise RecipientGone("web-person-gone")
            screen = await self.load(user) or WebScreen(had_case=True)
            if txn_id in screen.relays:
                return  # a retry after a crash: already on the screen
            for reply in replies:
                if reply.choices:
                    screen.current = [entry(reply, ADVISER)]
                else:
                    screen.line = [*screen.line, entry(reply, ADVISER)][-_LINE_KEPT:]
            screen.relays = [*screen.relays, txn_id][-_RELAYS_KEPT:]
            await self.save(user, screen)

    async def end_visits(self, user: UserKey, now: float) -> None:
        """The person left: every session given out until now is over (open pages
        hear of it and go to the start page)."""
        async with self.locks.hold(user):
            screen = await self.load(user)
            if screen is not None:
                screen.left_at = now
                await self.save(user, screen)

    def pages_of(self, user: UserKey) -> int:
        """How many pages of this person are open (listening)."""
        return len(self._listeners.get(user, ()))

    def _notify(self, user: UserKey, version: int) -> None:
        for queue in self._listeners.get(user, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(version)

    @contextlib.asynccontextmanager
    async def listening(self, user: UserKey) -> AsyncIterator[asyncio.Queue[int]]:
        """An open page: it hears each new version of the person's screen."""
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=8)
        self._listeners.setdefault(user, set()).add(queue)
        try:
            yield queue
        finally:
            queues = self._listeners.get(user)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._listeners[user]

    def close_all(self, last: int) -> None:
        """Tell every open page the server is going (``last`` is the closing version)."""
        for queues in self._listeners.values():
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(last)

    @property
    def open_pages(self) -> int:
        return sum(len(q) for q in self._listeners.values())


class WebSender:
    """The line's relays for people on the web: onto their screen, to read live or later."""

    def __init__(self, screens: Screens) -> None:
        self._screens = screens

    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        try:
            user = UserKey(bytes.fromhex(address))
        except ValueError as exc:
            raise RecipientGone("not-a-web-address") from exc
        await self._screens.add_relay(user, replies, txn_id)
        return txn_id
