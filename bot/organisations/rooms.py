"""The Matrix rooms an organisation's config names, and the rule that keeps them its
own: on the bureau's one account, the room an event arrives in is what says whose it
is, so no room may belong to two organisations."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import tomlkit

from bot.config import Config
from bot.util.private_files import replace_file


def matrix_rooms(config: Config) -> dict[str, str]:
    """Each room the config listens to or delivers into, with what it is for."""
    rooms: dict[str, str] = {}
    if config.matrix is None:
        return rooms
    if config.handoff.sink == "matrix":
        for adviser in config.advisers:
            if adviser.room_id:
                rooms[adviser.room_id] = f"the room of adviser {adviser.id}"
    if config.admin is not None:
        rooms[config.admin.room_id] = "the admin room"
    return rooms


def room_clash(organisation_id: str, config: Config, others: Mapping[str, Config]) -> str | None:
    """Why ``config`` cannot be served beside the organisations ``others`` (id: config),
    or None. A room named by two would deliver one organisation's handoffs where the
    other's adviser reads, and act on one's answers in the other's cases."""
    own = matrix_rooms(config)
    for other_id, other in others.items():
        for room_id in own.keys() & matrix_rooms(other).keys():
            return (
                f"{own[room_id]} ({room_id}) is already {matrix_rooms(other)[room_id]} of"
                f" organisation {other_id}; every organisation needs rooms of its own"
                f" (`vertrouwd matrix setup --org {organisation_id} --adviser ID`)"
            )
    return None


def write_adviser_room(file: Path, adviser_id: str, room_id: str) -> bool:
    """Set the room of adviser ``adviser_id`` in an organisation's file (its comments
    and layout kept). False when the file has no [[advisers]] entry for them: the
    organisation uses the bureau's list, and the admin copies it over first."""
    document = tomlkit.parse(file.read_text(encoding="utf-8"))
    advisers = document.get("advisers")
    if not isinstance(advisers, list):
        return False
    for adviser in advisers:
        if isinstance(adviser, dict) and adviser.get("id") == adviser_id:
            adviser["room_id"] = room_id
            replace_file(file, tomlkit.dumps(document).encode("utf-8"))
            return True
    return False
