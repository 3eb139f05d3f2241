"""SQL for the web chat's screens: what a person's page shows, sealed, per person.

A mixin of SqliteStore: it shares the store's connection, cipher and write lock. A
screen lives only as long as the person's conversation or the link of one of their
cases: the purge drops the rest.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from bot.keys.crypto import DecryptionError, FieldCipher, UserKey
from bot.store.base import StoreError
from bot.store.group_commit import GroupCommit
from bot.store.line_records import OPEN, TO_ADVISER
from bot.store.row_cache import RowCache
from bot.store.sealed_fields import screen_aad

# The kind of relay that carries what the person wrote to the adviser.
MESSAGE = "message"
# Seconds after the start within which the screen's save is the start's own.
_SAVED_WITH_START = 1.0
# The newest of them from one person (a relay id), or NULL.
_SENT_RELAY = (
    "SELECT MAX(r.id) FROM relays r JOIN cases c ON c.case_ref = r.case_ref"
    " WHERE c.owner_key = ? AND r.direction = ? AND r.kind = ?"
)


@dataclass
class WebScreen:
    """What the person's page shows. Entries are {"who", "text", "choices", "question"}."""

    # The bot's replies to the last step (and the person's own words in it).
    current: list[dict[str, Any]] = field(default_factory=list)
    # Messages on the line to the adviser, both ways, oldest first.
    line: list[dict[str, Any]] = field(default_factory=list)
    # The receipt code is on the page until the person says they have written it down.
    code_pending: bool = False
    # Why it is shown: "sent" (the request went) or "later" (asked for, to go on later).
    code_for: str = "sent"
    # The person said they have the code (or came back with it).
    code_noted: bool = False
    # Whether the person was inside the intake at the last step (answers not yet sent).
    in_intake: bool = False
    # Whether the person had a case at the last step (a new one shows the code).
    had_case: bool = False
    # The relays already put on this screen, so a retried relay is not shown twice.
    relays: list[str] = field(default_factory=list)
    # Grows with every change: an open page knows when to fetch again.
    version: int = 0
    # The conversation's language at the last step (the page's language).
    lang: str | None = None
    # When the person last left ("Leave quickly"): a session given out before is over.
    left_at: float = 0.0
    # The newest of the person's messages to the adviser (a relay id) already on screen.
    sent_relay: int = 0

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> WebScreen:
        return cls(**json.loads(data))


@dataclass(frozen=True)
class WebPerson:
    """What the web chat needs to know of a person after a step, in one query."""

    known: bool  # a conversation, or a case that still links to them
    has_open_case: bool
    lang: str | None  # the conversation's language, if there is one
    state: str | None = None  # the conversation's state, if there is one
    sent_relay: int = 0  # the newest message to the adviser from them (a relay id)


class WebScreenQueries:
    _cache: RowCache
    _db: aiosqlite.Connection
    _cipher: FieldCipher
    _write_lock: asyncio.Lock
    _conversation_writes: GroupCommit

    async def load_web_screen(self, user: UserKey) -> WebScreen | None:
        rows = list(
            await self._db.execute_fetchall(
                "SELECT sealed FROM web_screens WHERE user_key = ?", (user,)
            )
        )
        if not rows:
            return None
        try:
            return WebScreen.from_json(self._cipher.open(rows[0][0], screen_aad(user)))
        except (DecryptionError, ValueError, TypeError) as exc:
            raise StoreError("a stored web screen cannot be read") from exc

    async def save_web_screen(self, user: UserKey, screen: WebScreen | bytes, now: float) -> None:
        """``screen``, or its JSON when the caller has it already."""
        data = screen if isinstance(screen, bytes) else screen.to_json()
        sealed = self._cipher.seal(data, screen_aad(user))
        # With the steps' own writes: concurrent saves share one round trip and commit.
        await self._conversation_writes.write(
            "INSERT INTO web_screens (user_key, sealed, updated_at) VALUES (:user, :sealed, :now)"
            " ON CONFLICT (user_key) DO UPDATE SET"
            " sealed = excluded.sealed, updated_at = excluded.updated_at",
            {"user": user, "sealed": sealed, "now": now},
        )

    async def drop_web_screen(self, user: UserKey) -> None:
        async with self._write_lock:
            await self._db.execute("DELETE FROM web_screens WHERE user_key = ?", (user,))

    async def web_person_known(self, user: UserKey) -> bool:
        """Whether the person has a conversation or a case that still links to them."""
        rows = list(
            await self._db.execute_fetchall(
                "SELECT EXISTS (SELECT 1 FROM conversations WHERE user_key = ?)"
                " OR EXISTS (SELECT 1 FROM cases WHERE owner_key = ?)",
                (user, user),
            )
        )
        return bool(rows[0][0])

    async def web_person(self, user: UserKey) -> WebPerson:
        """Right after a step the person's row is in the step cache, as the step saw and
        left it (the engine works from the same row): no round trip to the database."""
        cached = self._cache.get(user)
        if cached is not None and cached.state is not None:
            sent = await self._sent_relay(user)
            return WebPerson(True, cached.line is not None, cached.lang, cached.state, sent)
        rows = list(
            await self._db.execute_fetchall(
                "SELECT conversations.lang, conversations.state,"
                " EXISTS (SELECT 1 FROM cases WHERE owner_key = ?),"
                " EXISTS (SELECT 1 FROM cases WHERE owner_key = ? AND status = ?),"
                f" ({_SENT_RELAY})"
                " FROM (SELECT 1) LEFT JOIN conversations ON conversations.user_key = ?",
                (user, user, OPEN, user, TO_ADVISER, MESSAGE, user),
            )
        )
        lang, state, linked, open_case, sent = rows[0]
        return WebPerson(
            lang is not None or bool(linked), bool(open_case), lang, state, int(sent or 0)
        )

    async def _sent_relay(self, user: UserKey) -> int:
        rows = list(await self._db.execute_fetchall(_SENT_RELAY, (user, TO_ADVISER, MESSAGE)))
        return int(rows[0][0] or 0)

    async def purge_unanswered_web_starts(self, before: float) -> int:
        """Drop the web conversations that were started before ``before`` and never
        answered (saved once, by the start): nobody can come back to them. A start
        whose page was used after it (its screen saved later: the code asked for, to
        continue later) waits like any request not yet sent."""
        async with self._write_lock:
            rows = list(
                await self._db.execute_fetchall(
                    "DELETE FROM conversations WHERE version = 1 AND updated_at < ?"
                    " AND user_key IN (SELECT user_key FROM web_screens s WHERE"
                    f"  s.updated_at <= conversations.updated_at + {_SAVED_WITH_START})"
                    " AND user_key NOT IN"
                    " (SELECT owner_key FROM cases WHERE owner_key IS NOT NULL)"
                    " RETURNING user_key",
                    (before,),
                )
            )
        for (user,) in rows:
            self._cache.drop(UserKey(user))
        return len(rows)

    async def purge_orphan_web_screens(self) -> int:
        """Drop the screens of people with no conversation and no linked case left."""
        async with self._write_lock:
            cursor = await self._db.execute(
                "DELETE FROM web_screens WHERE user_key NOT IN"
                " (SELECT user_key FROM conversations)"
                " AND user_key NOT IN (SELECT owner_key FROM cases WHERE owner_key IS NOT NULL)"
            )
            return cursor.rowcount
