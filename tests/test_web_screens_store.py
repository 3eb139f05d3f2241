"""The store's web screens: sealed, bound to their person, gone with the person's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.keys.crypto import FieldCipher, UserKey, new_key_material
from bot.store import ConversationRecord, NewHandoff, SqliteStore, StoreError
from bot.store.line_records import CaseContact, NewCase
from bot.store.web_screens import WebScreen

ALICE = UserKey(b"a" * 32)
BOB = UserKey(b"b" * 32)
SECRET = "Secret words 0xBADC0DE"


def screen(text: str = SECRET) -> WebScreen:
    return WebScreen(current=[{"who": "bot", "text": text, "choices": [], "question": None}])


def record() -> ConversationRecord:
    return ConversationRecord("menu", "en", {"answers": {}})


async def test_a_screen_loads_back_sealed_and_only_for_its_person(tmp_path: Path):
    path = tmp_path / "store.sqlite3"
    store = await SqliteStore.open(path, FieldCipher(new_key_material()), "handoff-synced")
    await store.save_web_screen(ALICE, screen(), 1.0)
    assert await store.load_web_screen(ALICE) == screen()
    assert await store.load_web_screen(BOB) is None
    await store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert SECRET.encode() not in raw
    # Another key file opens nothing: the store is refused before any screen is read.
    with pytest.raises(StoreError, match="sealed with another key file"):
        await SqliteStore.open(path, FieldCipher(new_key_material()), "handoff-synced")


async def test_screens_go_with_the_conversation_and_the_cases_link(store: SqliteStore):
    await store.save_step(ALICE, record(), None, now=1.0)
    case = NewCase("web", CaseContact("61" * 32, "en", None), False, ())
    await store.save_step(BOB, record(), NewHandoff("ACDE-FGHJ", "adviser-a", {}, case), now=1.0)
    for user in (ALICE, BOB):
        await store.save_web_screen(user, screen(), 1.0)
    assert await store.purge_orphan_web_screens() == 0
    # Both conversations expire; Bob's case still links to him.
    await store.purge_idle_conversations(idle_since=2.0)
    assert await store.web_person_known(ALICE) is False
    assert await store.web_person_known(BOB) is True
    assert await store.purge_orphan_web_screens() == 1
    assert await store.load_web_screen(ALICE) is None
    assert await store.load_web_screen(BOB) == screen()
    # Bob erases everything: the case no longer links to him, the screen goes too.
    await store.save_step(BOB, None, None, now=3.0)
    assert await store.web_person_known(BOB) is False
    assert await store.purge_orphan_web_screens() == 1


async def test_a_web_start_never_answered_goes_soon_and_nothing_else_does(store: SqliteStore):
    silent, answered, other_channel = ALICE, BOB, UserKey(b"c" * 32)
    with_case = UserKey(b"d" * 32)
    for user in (silent, answered, other_channel):
        await store.save_step(user, record(), None, now=1.0)
    case = NewCase("web", CaseContact("64" * 32, "en", None), False, ())
    await store.save_step(with_case, record(), NewHandoff("ACDE-FGHJ", "adviser-a", {}, case), 1.0)
    stored = await store.load_conversation(answered)
    assert stored is not None
    await store.save_step(answered, stored, None, now=1.5)  # the person answered once
    for user in (silent, answered, with_case):
        await store.save_web_screen(user, screen(), 1.0)
    assert await store.purge_unanswered_web_starts(before=1.0) == 0  # not old enough yet
    assert await store.purge_unanswered_web_starts(before=2.0) == 1
    assert await store.load_conversation(silent) is None
    for user in (answered, other_channel, with_case):
        assert await store.load_conversation(user) is not None
    assert await store.purge_orphan_web_screens() == 1  # the silent one's screen goes too


async def test_a_web_start_whose_code_was_asked_for_waits_like_a_draft(store: SqliteStore):
    """'Continue later' at the first question: the code shown must still open it later."""
    asked_for_code, silent = ALICE, BOB
    for user in (asked_for_code, silent):
        await store.save_step(user, record(), None, now=1.0)
        await store.save_web_screen(user, screen(), 1.0)  # the start's own page
    await store.save_web_screen(asked_for_code, screen(), 60.0)  # the code asked for
    assert await store.purge_unanswered_web_starts(before=120.0) == 1
    assert await store.load_conversation(silent) is None
    assert await store.load_conversation(asked_for_code) is not None
