"""Every sealed field of the store: the associated data (AAD) bound into each, the
sealing of a case's contact and of a relay's note, and the lists the key rotation
walks.

A sealed value opens only under the AAD it was sealed with: moved to another row, or
with the row's routing changed in the file, it does not open.
"""

from __future__ import annotations

import json

from bot.keys.crypto import DecryptionError, FieldCipher, UserKey
from bot.store.base import StoreError
from bot.store.line_records import CaseContact, RelayNote
from bot.store.reseal import SealedColumn


def conversation_aad(user: UserKey) -> bytes:
    return b"conversation\x00" + user


def old_outbox_aad(case_ref: str) -> bytes:
    """Before migration 30; only for sealing such rows again."""
    return b"outbox\x00" + case_ref.encode()


def outbox_aad(case_ref: str, adviser_id: str) -> bytes:
    # The adviser is bound too: changed in the file, the handoff does not open.
    return f"outbox\x00{case_ref}\x00{adviser_id}".encode()


def old_case_aad(case_ref: str) -> bytes:
    """Before migration 30; only for sealing such rows again."""
    return b"case\x00" + case_ref.encode()


def case_aad(case_ref: str, adviser_id: str, channel: str) -> bytes:
    # Where the case is routed is bound too: changed in the file, the contact does not
    # open, so nothing reaches another adviser's room or another channel.
    return f"case\x00{case_ref}\x00{adviser_id}\x00{channel}".encode()


def relay_aad(relay_id: int, case_ref: str, direction: str) -> bytes:
    return f"relay\x00{relay_id}\x00{case_ref}\x00{direction}".encode()


def screen_aad(user: UserKey) -> bytes:
    return b"web_screen\x00" + user


def registration_aad(thread_key: str) -> bytes:
    return b"registration\x00" + thread_key.encode()


def registered_aad(case_ref: str) -> bytes:
    return b"registered_counts\x00" + case_ref.encode()


def advice_aad(year: int) -> bytes:
    return f"report_advice\x00{year}".encode()


# A case's routing: its reference, adviser and channel, all bound into its AAD.
Route = tuple[str, str, str]


def seal_contact(cipher: FieldCipher, case: Route, contact: CaseContact) -> bytes:
    data = {"address": contact.address, "lang": contact.lang, "pseudonym": contact.pseudonym}
    return cipher.seal(json.dumps(data).encode(), case_aad(*case))


def open_contact(cipher: FieldCipher, case: Route, sealed: bytes | None) -> CaseContact | None:
    if sealed is None:
        return None
    try:
        data = json.loads(cipher.open(sealed, case_aad(*case)))
    except DecryptionError as exc:
        raise StoreError("a case's contact cannot be decrypted") from exc
    return CaseContact(data["address"], data["lang"], data["pseudonym"])


def seal_note(cipher: FieldCipher, relay_id: int, case_ref: str, note: RelayNote) -> bytes:
    data = json.dumps({"text": note.text, "values": note.values}, ensure_ascii=False)
    return cipher.seal(data.encode(), relay_aad(relay_id, case_ref, note.direction))


# Every sealed field of the store, with what its associated data is made of.
SEALED_COLUMNS = (
    SealedColumn("conversations", "user_key", ("user_key",), lambda user: conversation_aad(user)),
    SealedColumn("outbox", "id", ("case_ref", "adviser_id"), outbox_aad),
    SealedColumn("cases", "case_ref", ("case_ref", "adviser_id", "channel"), case_aad),
    SealedColumn("relays", "id", ("id", "case_ref", "direction"), relay_aad),
    SealedColumn("web_screens", "user_key", ("user_key",), screen_aad),
    SealedColumn("registrations", "thread_key", ("thread_key",), registration_aad),
    SealedColumn("report_advice", "year", ("year",), advice_aad),
    SealedColumn("registered_counts", "case_ref", ("case_ref",), registered_aad),
)

# Keyed hashes (HMAC), random-looking blobs that are never sealed.
KEYED_HASH_COLUMNS = (
    ("conversations", "user_key"),
    ("outbox", "owner_key"),
    ("cases", "owner_key"),
    ("web_screens", "user_key"),
)
