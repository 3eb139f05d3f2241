"""The adviser room guard: checked from the room's current state right before delivery."""

from __future__ import annotations

from typing import Any

MEGOLM = "m.megolm.v1.aes-sha2"


def room_problems(state: list[dict[str, Any]], bot: str, adviser: str) -> list[str]:
    """Short codes for each way the room is unsafe; empty when it is safe to deliver."""
    by_type: dict[str, dict[str, Any]] = {}
    members: set[str] = set()
    for event in state:
        kind = event.get("type")
        content = event.get("content") or {}
        if kind == "m.room.member":
            if content.get("membership") in ("join", "invite"):
                members.add(str(event.get("state_key")))
        elif event.get("state_key") == "" and isinstance(kind, str):
            by_type[kind] = content
    problems = []
    if by_type.get("m.room.encryption", {}).get("algorithm") != MEGOLM:
        problems.append("not-encrypted")
    if by_type.get("m.room.join_rules", {}).get("join_rule") != "invite":
        problems.append("not-invite-only")
    if by_type.get("m.room.history_visibility", {}).get("history_visibility") in (
        None,
        "world_readable",
    ):
        problems.append("history-readable-by-anyone")
    if bot not in members:
        problems.append("bot-not-in-room")
    if adviser not in members:
        problems.append("adviser-not-in-room")
    if members - {bot, adviser}:
        problems.append(f"other-members:{len(members - {bot, adviser})}")
    return problems
