"""What nio keeps about a room or a person, dropped from its memory and its store.

nio's SQLite store (``matrix-store/<user>_<device>.db``, opened with secure_delete)
keeps every Megolm session it ever held, every device it ever queried (by clear Matrix
id and display name) and every encrypted room. Whoever holds the data folder and the
server's copy of the events could decrypt them again. These functions remove them:
the bot's own copy of a handoff's room key once it is delivered, and an employee's
direct chat and devices on /delete and at retention. The SQL follows nio 0.26's peewee
models (nio/store/models.py, DefaultStore's tables) and its trust files.
"""

from __future__ import annotations

import logging

from nio import AsyncClient
from nio.store import DefaultStore

from bot.matrix.http import NETWORK_ERRORS
from bot.matrix.session import MatrixSession

log = logging.getLogger(__name__)

_ROOM_SESSIONS = "SELECT session_id FROM megolminboundsessions WHERE room_id = ?"
_USER_DEVICES = "SELECT id FROM devicekeys WHERE user_id = ?"


def drop_inbound_session(client: AsyncClient, room_id: str, session_id: str) -> None:
    """Forget the inbound copy of one Megolm session (nio saves its own outbound ones)."""
    olm = client.olm
    assert olm is not None
    for sessions in olm.inbound_group_store[room_id].values():
        sessions.pop(session_id, None)
    database = client.store.database
    with database.atomic():
        database.execute_sql("DELETE FROM forwardedchains WHERE session_id = ?", (session_id,))
        database.execute_sql(
            "DELETE FROM megolminboundsessions WHERE session_id = ? AND room_id = ?",
            (session_id, room_id),
        )


def forget_room(client: AsyncClient, room_id: str) -> None:
    """Every Megolm session, key request and encryption flag of the room."""
    olm = client.olm
    assert olm is not None
    olm.inbound_group_store._entries.pop(room_id, None)  # nio has no public remove
    olm.outbound_group_sessions.pop(room_id, None)
    client.encrypted_rooms.discard(room_id)
    client.rooms.pop(room_id, None)
    database = client.store.database
    with database.atomic():
        database.execute_sql(
            f"DELETE FROM forwardedchains WHERE session_id IN ({_ROOM_SESSIONS})", (room_id,)
        )
        for table in ("megolminboundsessions", "encryptedrooms", "outgoingkeyrequests"):
            database.execute_sql(f"DELETE FROM {table} WHERE room_id = ?", (room_id,))


def forget_person(client: AsyncClient, user_id: str) -> None:
    """The person's devices (ids, names, keys, trust) and tracking.

    The Olm sessions with their devices stay: they open no room message (the room's
    Megolm keys are dropped with the room), and without them the person's client would
    keep using a session the bot no longer has, so someone who starts again in a new
    chat could never be read."""
    olm, store = client.olm, client.store
    assert olm is not None and isinstance(store, DefaultStore)
    olm.device_store._entries.pop(user_id, {})  # nio has no public remove
    olm.tracked_users.discard(user_id)
    olm.users_for_key_query.discard(user_id)
    database = client.store.database
    with database.atomic():
        database.execute_sql(f"DELETE FROM keys WHERE device_id IN ({_USER_DEVICES})", (user_id,))
        database.execute_sql("DELETE FROM devicekeys WHERE user_id = ?", (user_id,))
    # nio's default store keeps trust in three text files beside the database.
    for trust_file in (store.trust_db, store.blacklist_db, store.ignore_db):
        trust_file.remove_many([key for key in trust_file if key.user_id == user_id])


async def leave_and_forget(session: MatrixSession, room_id: str, user_id: str) -> None:
    """An employee's direct chat, gone from the bot's side: left, forgotten on the
    server, and dropped from nio's store with the person's devices."""
    client = session.client
    if client is None:
        return
    try:
        await client.room_leave(room_id)
        await client.room_forget(room_id)
    except NETWORK_ERRORS as exc:  # the store is cleared all the same
        log.warning("direct chat not left on the server (%s)", type(exc).__name__)
    session.state.direct_room_people.pop(room_id, None)
    if room_id in session.state.direct_rooms:
        session.state.direct_rooms.remove(room_id)
    session.save_state()
    forget_room(client, room_id)
    forget_person(client, user_id)
    log.info("forgot a direct chat and its person")
