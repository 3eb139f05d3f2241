"""The room guard's two missed cases: an adviser who is only invited to a room whose
history starts at joining, and a room replaced by an upgrade."""

from __future__ import annotations

from bot.commands.doctor import _guard_fix
from bot.matrix.guard import replacement_room, room_problems
from tests.test_matrix_rules import ADVISER, BOT, member, state


def invited_adviser(history: str) -> list[dict]:
    events = [e for e in state() if e.get("state_key") != ADVISER]
    for event in events:
        if event["type"] == "m.room.history_visibility":
            event["content"] = {"history_visibility": history}
    return [*events, member(ADVISER, "invite")]


def test_an_adviser_only_invited_where_history_starts_at_joining_gets_nothing():
    assert room_problems(invited_adviser("joined"), BOT, ADVISER) == ["adviser-not-joined"]
    # Where the invited adviser will see it once they join, the handoff may wait there.
    assert room_problems(invited_adviser("invited"), BOT, ADVISER) == []
    assert room_problems(invited_adviser("shared"), BOT, ADVISER) == []


def test_a_replaced_room_gets_nothing_and_the_doctor_says_where_it_went():
    upgraded = [
        *state(),
        {
            "type": "m.room.tombstone",
            "state_key": "",
            "content": {"body": "upgraded", "replacement_room": "!new:hs"},
        },
    ]
    problems = room_problems(upgraded, BOT, ADVISER)
    assert problems == ["room-replaced"]
    assert replacement_room(upgraded) == "!new:hs"
    assert "invite the bot to the new room" in _guard_fix(problems)
    assert "accept the invite" in _guard_fix(room_problems(invited_adviser("joined"), BOT, ADVISER))
