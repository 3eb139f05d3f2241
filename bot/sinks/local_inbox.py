"""The embedded default's adviser inbox: a separate encrypted SQLite file.

It stands in for the adviser's Matrix room: the bot delivers into it through the
same sink contract, and ``vertrouwd inbox`` reads it as the adviser would.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.crypto import DecryptionError, FieldCipher
from bot.sinks.base import CasePosts, OutgoingHandoff, Receipt, ThreadPost, handoff_txn_id
from bot.store.connection import open_migrated
from bot.store.key_record import KEY_RECORD_MIGRATION, opens_any

INBOX_FILE = "adviser-inbox.sqlite3"
log = logging.getLogger(__name__)

_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE handoffs (
            txn_id TEXT PRIMARY KEY,
            adviser_id TEXT NOT NULL,
            received_at REAL NOT NULL,
            sealed BLOB NOT NULL
        );
        """,
    ),
    (
        2,
        """
        -- The case threads: relays and notes after a handoff, in the order received.
        CREATE TABLE thread_posts (
            txn_id TEXT PRIMARY KEY,
            case_ref TEXT NOT NULL,
            adviser_id TEXT NOT NULL,
            received_at REAL NOT NULL,
            sealed BLOB NOT NULL
        );
        CREATE INDEX thread_posts_case ON thread_posts (case_ref, received_at);
        """,
    ),
    KEY_RECORD_MIGRATION,
)


@dataclass(frozen=True)
class InboxItem:
    txn_id: str
    adviser_id: str
    received_at: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class InboxContents:
    items: list[InboxItem]
    threads: dict[str, list[str]]  # per txn_id: the posts that can be read
    unreadable: tuple[str, ...]  # case references of handoffs that cannot be read
    unreadable_posts: dict[str, int]  # per case reference: posts that cannot be read


def _case_of(txn_id: str) -> str:
    return txn_id.removeprefix(handoff_txn_id(""))


def _aad(txn_id: str) -> bytes:
    return b"inbox\x00" + txn_id.encode()


class LocalInbox:
    name = "local-inbox"

    def __init__(
        self, db: aiosqlite.Connection, cipher: FieldCipher, clock: Callable[[], float]
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock

    @classmethod
    async def open(
        cls, data_dir: Path, cipher: FieldCipher, clock: Callable[[], float] = time.time
    ) -> LocalInbox:
        async def opens(db: aiosqlite.Connection) -> bool:
            rows = await db.execute_fetchall("SELECT txn_id, sealed FROM handoffs LIMIT 5")
            return opens_any(cipher, [(sealed, _aad(txn_id)) for txn_id, sealed in rows])

        path = data_dir / INBOX_FILE
        db = await open_migrated(path, "FULL", _MIGRATIONS, cipher.fingerprint, opens)
        return cls(db, cipher, clock)

    def prepare(self, adviser_id: str) -> None:
        """Nothing to prepare for a local file."""

    async def deliver(self, handoff: OutgoingHandoff) -> Receipt:
        sealed = self._cipher.seal(
            json.dumps(handoff.payload, ensure_ascii=False).encode(), _aad(handoff.txn_id)
        )
        # Like a Matrix transaction id: a repeated delivery is accepted and ignored.
        await self._db.execute(
            "INSERT INTO handoffs (txn_id, adviser_id, received_at, sealed) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (txn_id) DO NOTHING",
            (handoff.txn_id, handoff.adviser_id, self._clock(), sealed),
        )
        return Receipt(handoff.txn_id, INBOX_FILE)

    async def post_in_thread(self, post: ThreadPost) -> Receipt:
        sealed = self._cipher.seal(post.content.text.encode(), _aad(post.txn_id))
        await self._db.execute(
            "INSERT INTO thread_posts (txn_id, case_ref, adviser_id, received_at, sealed)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (txn_id) DO NOTHING",
            (post.txn_id, post.case_ref, post.adviser_id, self._clock(), sealed),
        )
        return Receipt(post.txn_id, INBOX_FILE)

    async def thread(self, case_ref: str) -> list[str]:
        """What reached the case's thread and can be read, oldest first."""
        return (await self._thread(case_ref))[0]

    async def _thread(self, case_ref: str) -> tuple[list[str], int]:
        rows = await self._db.execute_fetchall(
            "SELECT txn_id, sealed FROM thread_posts WHERE case_ref = ? ORDER BY received_at",
            (case_ref,),
        )
        posts, unreadable = [], 0
        for txn_id, sealed in rows:
            try:
                posts.append(self._cipher.open(sealed, _aad(txn_id)).decode())
            except (DecryptionError, UnicodeDecodeError) as exc:
                log.error("inbox: a post in case %s's thread cannot be read (%s)", case_ref, exc)
                unreadable += 1
        return posts, unreadable

    async def remove_posts(self, posts: CasePosts) -> None:
        """The case's retention term passed: its handoff and thread go from the inbox."""
        await self._db.execute("DELETE FROM thread_posts WHERE case_ref = ?", (posts.case_ref,))
        await self._db.execute(
            "DELETE FROM handoffs WHERE txn_id = ?", (handoff_txn_id(posts.case_ref),)
        )

    async def items(self, adviser_id: str | None = None) -> list[InboxItem]:
        """Every delivered handoff that can be read, urgent ones first, then oldest first."""
        return (await self.contents(adviser_id)).items

    async def contents(self, adviser_id: str | None = None) -> InboxContents:
        """The handoffs and their threads; one that cannot be read hides none of the
        others and is named by its case reference."""
        rows = await self._db.execute_fetchall(
            "SELECT txn_id, adviser_id, received_at, sealed FROM handoffs ORDER BY received_at"
        )
        items, unreadable = [], []
        for txn_id, owner, received_at, sealed in rows:
            if adviser_id is not None and owner != adviser_id:
                continue
            try:
                payload = json.loads(self._cipher.open(sealed, _aad(txn_id)))
            except (DecryptionError, ValueError) as exc:
                reason = str(exc) if isinstance(exc, DecryptionError) else "not JSON"
                log.error("inbox: handoff of case %s cannot be read (%s)", _case_of(txn_id), reason)
                unreadable.append(_case_of(txn_id))
                continue
            items.append(InboxItem(txn_id, owner, received_at, payload))
        items.sort(key=lambda item: (not item.payload.get("urgent"), item.received_at))
        threads, unreadable_posts = {}, {}
        for item in items:
            threads[item.txn_id], lost = await self._thread(item.payload["case_ref"])
            if lost:
                unreadable_posts[item.payload["case_ref"]] = lost
        return InboxContents(items, threads, tuple(unreadable), unreadable_posts)

    async def close(self) -> None:
        await self._db.close()
