"""What the Telegram channel remembers between calls, and how it reads a failed send.

Kept apart from the adapter: small, pure bookkeeping, in memory only, never content.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import httpx
from telegram.error import NetworkError

REMEMBERED = 50_000
# The message went out but no answer came back: Telegram may well have accepted it.
_ANSWER_LOST = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def may_have_arrived(exc: NetworkError) -> bool:
    """True when a send failed after the request reached Telegram (a read timeout, the
    connection broken before the answer): sending it again may show it twice. A refused
    connection, a full pool, a write that timed out, or an error answer are safe to retry."""
    return isinstance(exc.__cause__, _ANSWER_LOST)


class Bounded(OrderedDict[Hashable, Any]):
    """Most recently used entries only: per-chat hints, never essential."""

    def __init__(self, size: int = REMEMBERED) -> None:
        super().__init__()
        self._size = size

    def remember(self, key: Hashable, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self._size:
            self.popitem(last=False)


_ANSWERED = b"answered"


class EditMemory:
    """Which received messages were edited in a way worth answering, once each.

    Holds a keyed digest of each received text (the key lives in this process only),
    never the text: an edit that leaves the text as it was (Telegram sends those, for
    example when a link preview loads) is not answered, and neither is a second edit."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._key = secrets.token_bytes(16)
        self._digests = Bounded(size)

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode(), key=self._key, digest_size=8).digest()

    def received(self, chat_id: int, message_id: int, text: str) -> None:
        self._digests.remember((chat_id, message_id), self._digest(text))

    def answer_edit(self, chat_id: int, message_id: int, text: str) -> bool:
        """True the first time a message's text is edited into something new."""
        key = (chat_id, message_id)
        before = self._digests.get(key)
        if before == _ANSWERED or before == self._digest(text):
            return False
        self._digests.remember(key, _ANSWERED)
        return True


class SentPieces:
    """The message ids of the pieces of a relay that already went out, by transaction,
    so that a relay retried after its second piece failed does not resend the first."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._sent = Bounded(size)

    def of(self, txn_id: str) -> list[int]:
        return list(self._sent.get(txn_id, ()))

    def add(self, txn_id: str, message_id: int) -> None:
        self._sent.remember(txn_id, [*self._sent.get(txn_id, ()), message_id])

    def done(self, txn_id: str) -> None:
        self._sent.pop(txn_id, None)
