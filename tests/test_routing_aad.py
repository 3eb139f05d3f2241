"""Where a sealed row is routed is bound into its AAD: changed in the file, without
the key, nothing opens. Rows sealed before that (migration 30) are sealed again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bot.keys.crypto import FieldCipher, KeyMaterial, new_key_material
from bot.sinks.base import OutgoingHandoff, Receipt, ThreadPost, ThreadText
from bot.sinks.local_inbox import INBOX_FILE, LocalInbox
from bot.store import SqliteStore
from bot.store.connection import apply_migrations, open_database
from bot.store.line_records import AdviserStep, RelayNote
from bot.store.migrations import MIGRATIONS
from tests.test_store_contract import ALICE, SECRET, handoff, handoff_with_case, record

STORE = "store.sqlite3"


def raw(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql, params).fetchall()


async def test_a_handoff_rerouted_in_the_file_does_not_open(tmp_path: Path):
    cipher = FieldCipher(new_key_material())
    store = await SqliteStore.open(tmp_path / STORE, cipher, "handoff-synced")
    try:
        await store.save_step(ALICE, record(), handoff("ACDE-FGHJ"), now=100.0)
        raw(tmp_path / STORE, "UPDATE outbox SET adviser_id = 'adviser-b'")
        assert await store.due_handoffs(200.0, 10) == []  # waits; never to adviser-b
        raw(tmp_path / STORE, "UPDATE outbox SET adviser_id = 'adviser-a', next_attempt_at = 0")
        [pending] = await store.due_handoffs(200.0, 10)
        assert (pending.adviser_id, pending.payload["answers"]["description"]) == (
            "adviser-a",
            SECRET,
        )
    finally:
        await store.close()


async def test_a_case_moved_to_another_channel_or_adviser_reaches_nobody(tmp_path: Path):
    cipher = FieldCipher(new_key_material())
    store = await SqliteStore.open(tmp_path / STORE, cipher, "handoff-synced")
    try:
        await store.save_step(ALICE, record(), handoff_with_case("ACDE-FGHJ"), now=100.0)
        await store.mark_delivered(1, Receipt("$h", "!room"), now=101.0)
        note = RelayNote("to_employee", "message", text="hello")
        await store.adviser_step(AdviserStep("ACDE-FGHJ", "$e1", notes=(note,)), now=102.0)
        raw(tmp_path / STORE, "UPDATE cases SET channel = 'telegram'")
        assert await store.due_relays(103.0, 10, ["telegram", "terminal"]) == []
        raw(tmp_path / STORE, "UPDATE cases SET channel = 'terminal', adviser_id = 'adviser-b'")
        raw(tmp_path / STORE, "UPDATE relays SET next_attempt_at = 0")
        assert await store.due_relays(103.0, 10, ["telegram", "terminal"]) == []
    finally:
        await store.close()


async def test_an_inbox_handoff_moved_into_a_thread_does_not_open(tmp_path: Path):
    cipher = FieldCipher(new_key_material())
    inbox = await LocalInbox.open(tmp_path, cipher)
    try:
        await inbox.deliver(OutgoingHandoff("ACDE-FGHJ", "adviser-a", {"x": SECRET}))
        await inbox.post_in_thread(
            ThreadPost("ACDE-FGHJ", "adviser-a", "", "", ThreadText("hi", notify=False), "same-txn")
        )
        handoff_txn = raw(tmp_path / INBOX_FILE, "SELECT txn_id FROM handoffs")[0][0]
        raw(
            tmp_path / INBOX_FILE,
            "UPDATE thread_posts SET txn_id = ?, sealed = (SELECT sealed FROM handoffs)",
            handoff_txn,
        )
        # The moved text does not open there: it is counted as unreadable, not shown.
        assert await inbox.thread("ACDE-FGHJ") == []
        contents = await inbox.contents()
        assert contents.unreadable_posts == {"ACDE-FGHJ": 1}
        assert SECRET not in str(contents.threads)
    finally:
        await inbox.close()


async def old_style_store(path: Path, keys: KeyMaterial) -> None:
    """A store file as the release before migration 30 left it, with one handoff."""
    db = await open_database(path, "FULL")
    await apply_migrations(db, tuple(m for m in MIGRATIONS if m[0] < 30))
    sealed = FieldCipher(keys).seal(
        json.dumps({"answers": {"description": SECRET}}).encode(), b"outbox\x00ACDE-FGHJ"
    )
    await db.execute(
        "INSERT INTO outbox (case_ref, owner_key, adviser_id, sealed, created_at,"
        " next_attempt_at) VALUES ('ACDE-FGHJ', ?, 'adviser-a', ?, 1, 1)",
        (bytes(ALICE), sealed),
    )
    await db.close()


async def test_rows_sealed_before_migration_30_are_sealed_again_and_still_open(tmp_path: Path):
    keys = new_key_material()
    await old_style_store(tmp_path / STORE, keys)
    store = await SqliteStore.open(tmp_path / STORE, FieldCipher(keys), "handoff-synced")
    try:
        [pending] = await store.due_handoffs(200.0, 10)
        assert pending.payload["answers"]["description"] == SECRET
    finally:
        await store.close()
    assert raw(tmp_path / STORE, "SELECT aad FROM outbox") == [(2,)]
    # Sealed again under the routing AAD: rerouting it now fails like a new one.
    raw(tmp_path / STORE, "UPDATE outbox SET adviser_id = 'adviser-b'")
    store = await SqliteStore.open(tmp_path / STORE, FieldCipher(keys), "handoff-synced")
    try:
        assert await store.due_handoffs(200.0, 10) == []
    finally:
        await store.close()


async def test_inbox_rows_from_before_migration_30_still_open(tmp_path: Path):
    keys = new_key_material()
    db = await open_database(tmp_path / INBOX_FILE, "FULL")
    from bot.sinks.local_inbox import _MIGRATIONS

    await apply_migrations(db, tuple(m for m in _MIGRATIONS if m[0] < 30))
    cipher = FieldCipher(keys)
    await db.execute(
        "INSERT INTO handoffs VALUES ('t1', 'adviser-a', 1, ?)",
        (cipher.seal(json.dumps({"x": SECRET}).encode(), b"inbox\x00t1"),),
    )
    await db.execute(
        "INSERT INTO thread_posts VALUES ('t2', 'ACDE-FGHJ', 'adviser-a', 2, ?)",
        (cipher.seal(b"a thread post", b"inbox\x00t2"),),
    )
    await db.close()
    inbox = await LocalInbox.open(tmp_path, cipher)
    try:
        [item] = await inbox.items()
        assert item.payload == {"x": SECRET}
        assert await inbox.thread("ACDE-FGHJ") == ["a thread post"]
    finally:
        await inbox.close()
