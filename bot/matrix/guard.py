"""The adviser room guard: checked from the room's current state right before delivery."""

from __future__ import annotations

from typing import Any

MEGOLM = "m.megolm.v1.aes-sha2"


def room_problems(state: list[dict[str, Any]], bot: str, adviser: str) -> list[str]:
    """Short codes for each way the room is unsafe; empty when it is safe to deliver."""
    by_type: dict[str, dict[str, Any]] = {}
    members: set[str] = set()
    joined: set[str] = set()
    for event in state:
        kind = event.get("type")
        content = event.get("content") or {}
        if kind == "m.room.member":
            if content.get("membership") in ("join", "invite"):
                members.add(str(event.get("state_key")))
            if content.get("membership") == "join":
                joined.add(str(event.get("state_key")))
        elif event.get("state_key") == "" and isinstance(kind, str):
            by_type[kind] = content
    problems = []
    if by_type.get("m.room.encryption", {}).get("algorithm") != MEGOLM:
        problems.append("not-encrypted")
    if by_type.get("m.room.join_rules", {}).get("join_rule") != "invite":
        problems.append("not-invite-only")
    history = by_type.get("m.room.history_visibility", {}).get("history_visibility")
    if history in (None, "world_readable"):
        problems.append("history-readable-by-anyone")
    if bot not in members:
        problems.append("bot-not-in-room")
    if adviser not in members:
        problems.append("adviser-not-in-room")
    elif adviser not in joined and history == "joined":
        # Only invited: they would never see what is sent before they join.
        problems.append("adviser-not-joined")
    if replacement_room(by_type) is not None:
        problems.append("room-replaced")  # upgraded: clients show the new room instead
    if members - {bot, adviser}:
        problems.append(f"other-members:{len(members - {bot, adviser})}")
    return problems


def replacement_room(state: list[dict[str, Any]] | dict[str, dict[str, Any]]) -> str | None:
    """The room that replaced this one in an upgrade (its tombstone), if any."""
    if isinstance(state, dict):
        content = state.get("m.room.tombstone")
    else:
        content = next(
            (
                e.get("content") or {}
                for e in state
                if e.get("type") == "m.room.tombstone" and e.get("state_key") == ""
            ),
            None,
        )
    replacement = (content or {}).get("replacement_room")
    return replacement if isinstance(replacement, str) and replacement else None
