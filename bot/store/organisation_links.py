"""Which organisation a person reaching the bureau's own bot (or its Matrix account)
belongs to, kept for restarts in the bureau's data folder.

A row is found by a keyed hash of the channel and the person's id (the bureau's lookup
key); what it holds (the organisation's id and the person's key in that organisation)
is sealed with the bureau's data key, the row's hash bound as associated data. So the
file names no person and no client organisation."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.keys.crypto import DecryptionError, FieldCipher, UserKey
from bot.store.base import StoreError
from bot.store.connection import damaged, open_database
from bot.store.reseal import Resealed, SealedColumn, count_old, reseal_columns

LINKS_FILE = "organisation_links.sqlite3"
_AAD = b"organisation-link\x1f"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS links (person BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID"
)


def _link_aad(person: bytes) -> bytes:
    return _AAD + person


# For key rotation and backups: the one sealed field, bound to its row's hash.
LINK_SEALED_COLUMNS = (SealedColumn("links", "person", ("person",), _link_aad),)


@dataclass(frozen=True)
class Link:
    organisation_id: str
    # The person's key in that organisation's own store (its own lookup key).
    person: UserKey


class OrganisationLinks:
    def __init__(self, db: aiosqlite.Connection, path: Path, cipher: FieldCipher) -> None:
        self._db = db
        self._path = path
        self._cipher = cipher

    @classmethod
    async def open(cls, data_dir: Path, cipher: FieldCipher) -> OrganisationLinks:
        path = data_dir / LINKS_FILE
        db = await open_database(path, "FULL")
        try:
            await db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            await db.close()
            raise damaged(path, exc) from exc
        return cls(db, path, cipher)

    async def close(self) -> None:
        await self._db.close()

    async def reseal(self, batch: int = 200) -> Resealed:
        """Seal every link again with the current data key (`vertrouwd keys rotate`)."""
        return await reseal_columns(
            self._db, asyncio.Lock(), self._cipher, LINK_SEALED_COLUMNS, batch
        )

    async def sealed_with_old_keys(self) -> int:
        return await count_old(self._db, self._cipher, LINK_SEALED_COLUMNS)

    async def get(self, person: UserKey) -> Link | None:
        """The person's link; None when there is none or it cannot be opened (then it
        is dropped: the person is asked for the code again, nothing worse)."""
        try:
            async with self._db.execute(
                "SELECT sealed FROM links WHERE person = ?", (person,)
            ) as rows:
                row = await rows.fetchone()
        except sqlite3.Error as exc:
            raise damaged(self._path, exc) from exc
        if row is None:
            return None
        try:
            held = json.loads(self._cipher.open(row[0], _link_aad(person)))
            return Link(str(held["organisation"]), UserKey(bytes.fromhex(held["person"])))
        except (DecryptionError, ValueError, KeyError, TypeError):
            await self.forget(person)
            return None

    async def put(self, person: UserKey, link: Link) -> None:
        held = json.dumps({"organisation": link.organisation_id, "person": link.person.hex()})
        sealed = self._cipher.seal(held.encode(), _link_aad(person))
        await self._write(
            "INSERT INTO links (person, sealed) VALUES (?, ?)"
            " ON CONFLICT (person) DO UPDATE SET sealed = excluded.sealed",
            (person, sealed),
        )

    async def forget_organisation(self, organisation_id: str) -> int:
        """Delete every link to ``organisation_id`` (it was removed); returns how many.
        A link that cannot be opened is left to the next time its person writes."""
        try:
            rows = await self._db.execute_fetchall("SELECT person, sealed FROM links")
        except sqlite3.Error as exc:
            raise StoreError(str(damaged(self._path, exc))) from exc
        gone = 0
        for person, sealed in rows:
            try:
                held = json.loads(self._cipher.open(sealed, _link_aad(person)))
            except (DecryptionError, ValueError):
                continue
            if isinstance(held, dict) and held.get("organisation") == organisation_id:
                await self.forget(UserKey(person))
                gone += 1
        return gone

    async def forget(self, person: UserKey) -> None:
        await self._write("DELETE FROM links WHERE person = ?", (person,))

    async def _write(self, sql: str, values: tuple[bytes, ...]) -> None:
        try:
            await self._db.execute(sql, values)
        except sqlite3.Error as exc:
            raise StoreError(str(damaged(self._path, exc))) from exc
