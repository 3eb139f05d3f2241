"""The embedded default's adviser inbox: a separate encrypted SQLite file.

It stands in for the adviser's Matrix room: the bot delivers into it through the
same sink contract, and ``vertrouwd inbox`` reads it as the adviser would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from bot.keys.crypto import DecryptionError, FieldCipher, MissingDataKey
from bot.sinks.base import CasePosts, OutgoingHandoff, Receipt, ThreadPost, handoff_txn_id
from bot.store.aad_upgrade import reseal_under_new_aad
from bot.store.base import StoreError
from bot.store.connection import damaged, open_migrated
from bot.store.key_record import KEY_RECORD_MIGRATION, opens_any
from bot.store.reseal import (
    Resealed,
    SealedColumn,
    count_old,
    reseal_columns,
    unknown_fields_with,
)

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
    (
        30,
        """
        -- 2: each table's own associated data, with the adviser (see _handoff_aad).
        ALTER TABLE handoffs ADD COLUMN aad INTEGER NOT NULL DEFAULT 2;
        UPDATE handoffs SET aad = 1;
        ALTER TABLE thread_posts ADD COLUMN aad INTEGER NOT NULL DEFAULT 2;
        UPDATE thread_posts SET aad = 1;
        """,
    ),
    (
        40,
        """
        -- How many handoffs the inbox holds, kept beside them by triggers in the same
        -- statement: a damaged page that hides a row shows as a gap, never as fewer.
        CREATE TABLE ledger (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            received INTEGER NOT NULL,
            removed INTEGER NOT NULL
        );
        INSERT INTO ledger (id, received, removed) VALUES (1, (SELECT COUNT(*) FROM handoffs), 0);
        CREATE TRIGGER handoff_received AFTER INSERT ON handoffs
        BEGIN UPDATE ledger SET received = received + 1 WHERE id = 1; END;
        CREATE TRIGGER handoff_removed AFTER DELETE ON handoffs
        BEGIN UPDATE ledger SET removed = removed + 1 WHERE id = 1; END;
        """,
    ),
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
    # Sealed with a data key version the key file does not hold: not damage.
    key_missing: dict[str, int] = field(default_factory=dict)  # case reference: version
    posts_key_missing: dict[str, tuple[int, int]] = field(default_factory=dict)  # (count, v)
    kept: int = 0  # handoffs the ledger says the inbox holds (all advisers); -1: unknown
    found: int = 0  # handoff rows found in the file (all advisers)

    @property
    def complete(self) -> bool:
        """Whether everything the inbox holds is shown."""
        return not (
            self.unreadable
            or self.unreadable_posts
            or self.key_missing
            or self.posts_key_missing
            or self.kept != self.found
        )


@dataclass
class _Thread:
    posts: list[str] = field(default_factory=list)
    damaged: int = 0
    key_missing: int = 0
    version: int = 0


def _case_of(txn_id: str) -> str:
    return txn_id.removeprefix(handoff_txn_id(""))


def _old_aad(txn_id: str) -> bytes:
    """Both tables' rows before migration 30; only for sealing them again."""
    return b"inbox\x00" + txn_id.encode()


def _handoff_aad(txn_id: str, adviser_id: str) -> bytes:
    return f"inbox-handoff\x00{txn_id}\x00{adviser_id}".encode()


def _post_aad(txn_id: str, case_ref: str, adviser_id: str) -> bytes:
    return f"inbox-thread\x00{txn_id}\x00{case_ref}\x00{adviser_id}".encode()


INBOX_SEALED_COLUMNS = (
    SealedColumn("handoffs", "txn_id", ("txn_id", "adviser_id"), _handoff_aad),
    SealedColumn("thread_posts", "txn_id", ("txn_id", "case_ref", "adviser_id"), _post_aad),
)


async def _upgrade_aad(db: aiosqlite.Connection, cipher: FieldCipher) -> None:
    """Rows from before migration 30 are sealed again under their table's own AAD."""
    await reseal_under_new_aad(
        db,
        cipher,
        "handoffs",
        "txn_id",
        ("txn_id", "adviser_id"),
        lambda r: _old_aad(r[0]),
        lambda r: _handoff_aad(r[0], r[1]),
    )
    await reseal_under_new_aad(
        db,
        cipher,
        "thread_posts",
        "txn_id",
        ("txn_id", "case_ref", "adviser_id"),
        lambda r: _old_aad(r[0]),
        lambda r: _post_aad(r[0], r[1], r[2]),
    )


class LocalInbox:
    name = "local-inbox"

    def __init__(
        self,
        db: aiosqlite.Connection,
        cipher: FieldCipher,
        clock: Callable[[], float],
        path: Path = Path(INBOX_FILE),
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock
        self._path = path

    @classmethod
    async def open(
        cls, data_dir: Path, cipher: FieldCipher, clock: Callable[[], float] = time.time
    ) -> LocalInbox:
        async def opens(db: aiosqlite.Connection) -> bool:
            rows = await db.execute_fetchall(
                "SELECT txn_id, adviser_id, sealed, aad FROM handoffs LIMIT 5"
            )
            return opens_any(
                cipher,
                [
                    (sealed, _old_aad(txn_id) if aad == 1 else _handoff_aad(txn_id, owner))
                    for txn_id, owner, sealed, aad in rows
                ],
            )

        path = data_dir / INBOX_FILE
        db = await open_migrated(
            path, "FULL", _MIGRATIONS, cipher.fingerprint, opens, f"local inbox {INBOX_FILE}"
        )
        try:
            await _upgrade_aad(db, cipher)
        except StoreError:
            await db.close()  # an open database thread would keep the process alive
            raise
        return cls(db, cipher, clock, path)

    def prepare(self, adviser_id: str) -> None:
        """Nothing to prepare for a local file."""

    async def reseal(self, batch: int = 200) -> Resealed:
        """Seal every handoff and post again with the current data key."""
        return await reseal_columns(
            self._db, asyncio.Lock(), self._cipher, INBOX_SEALED_COLUMNS, batch
        )

    async def sealed_with_old_keys(self) -> int:
        return await count_old(self._db, self._cipher, INBOX_SEALED_COLUMNS)

    async def unknown_sealed_fields(self, prefixes: Sequence[bytes]) -> list[str]:
        return await unknown_fields_with(self._db, prefixes, INBOX_SEALED_COLUMNS)

    async def deliver(self, handoff: OutgoingHandoff) -> Receipt:
        sealed = self._cipher.seal(
            json.dumps(handoff.payload, ensure_ascii=False).encode(),
            _handoff_aad(handoff.txn_id, handoff.adviser_id),
        )
        # Like a Matrix transaction id: a repeated delivery is accepted and ignored.
        await self._db.execute(
            "INSERT INTO handoffs (txn_id, adviser_id, received_at, sealed) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (txn_id) DO NOTHING",
            (handoff.txn_id, handoff.adviser_id, self._clock(), sealed),
        )
        return Receipt(handoff.txn_id, INBOX_FILE)

    async def post_in_thread(self, post: ThreadPost) -> Receipt:
        sealed = self._cipher.seal(
            post.content.text.encode(), _post_aad(post.txn_id, post.case_ref, post.adviser_id)
        )
        await self._db.execute(
            "INSERT INTO thread_posts (txn_id, case_ref, adviser_id, received_at, sealed)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (txn_id) DO NOTHING",
            (post.txn_id, post.case_ref, post.adviser_id, self._clock(), sealed),
        )
        return Receipt(post.txn_id, INBOX_FILE)

    async def thread(self, case_ref: str) -> list[str]:
        """What reached the case's thread and can be read, oldest first."""
        return (await self._thread(case_ref)).posts

    async def _thread(self, case_ref: str) -> _Thread:
        rows = await self._db.execute_fetchall(
            "SELECT txn_id, adviser_id, sealed FROM thread_posts WHERE case_ref = ?"
            " ORDER BY received_at",
            (case_ref,),
        )
        thread = _Thread()
        for txn_id, adviser, sealed in rows:
            try:
                thread.posts.append(
                    self._cipher.open(sealed, _post_aad(txn_id, case_ref, adviser)).decode()
                )
            except MissingDataKey as exc:
                log.error("inbox: a post in case %s's thread: %s", case_ref, exc)
                thread.key_missing += 1
                thread.version = exc.version
            except (DecryptionError, UnicodeDecodeError) as exc:
                log.error("inbox: a post in case %s's thread cannot be read (%s)", case_ref, exc)
                thread.damaged += 1
        return thread

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
        """As ``_contents``; a file too damaged to be read row by row is named as a whole."""
        try:
            return await self._contents(adviser_id)
        except (UnicodeDecodeError, sqlite3.DatabaseError) as exc:
            raise damaged(self._path, exc) from exc

    async def _contents(self, adviser_id: str | None) -> InboxContents:
        """The handoffs and their threads; one that cannot be read hides none of the
        others and is named by its case reference, and rows a damaged page hides show
        as a gap against the ledger."""
        rows = list(
            await self._db.execute_fetchall(
                "SELECT txn_id, adviser_id, received_at, sealed FROM handoffs ORDER BY received_at"
            )
        )
        ledger = list(
            await self._db.execute_fetchall("SELECT received - removed FROM ledger WHERE id = 1")
        )
        kept = int(ledger[0][0]) if ledger and isinstance(ledger[0][0], int) else -1
        items, unreadable, key_missing = [], [], {}
        for txn_id, owner, received_at, sealed in rows:
            if adviser_id is not None and owner != adviser_id:
                continue
            try:
                payload = json.loads(self._cipher.open(sealed, _handoff_aad(txn_id, owner)))
            except MissingDataKey as exc:
                log.error("inbox: handoff of case %s: %s", _case_of(txn_id), exc)
                key_missing[_case_of(txn_id)] = exc.version
                continue
            except (DecryptionError, ValueError) as exc:
                reason = str(exc) if isinstance(exc, DecryptionError) else "not JSON"
                log.error("inbox: handoff of case %s cannot be read (%s)", _case_of(txn_id), reason)
                unreadable.append(_case_of(txn_id))
                continue
            items.append(InboxItem(txn_id, owner, received_at, payload))
        items.sort(key=lambda item: (not item.payload.get("urgent"), item.received_at))
        threads, unreadable_posts, posts_key_missing = {}, {}, {}
        for item in items:
            case_ref = _case_of(item.txn_id)
            thread = await self._thread(case_ref)
            threads[item.txn_id] = thread.posts
            if thread.damaged:
                unreadable_posts[case_ref] = thread.damaged
            if thread.key_missing:
                posts_key_missing[case_ref] = (thread.key_missing, thread.version)
        return InboxContents(
            items,
            threads,
            tuple(unreadable),
            unreadable_posts,
            key_missing,
            posts_key_missing,
            kept=kept,
            found=len(rows),
        )

    async def close(self) -> None:
        await self._db.close()
