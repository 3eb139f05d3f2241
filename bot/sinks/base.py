"""The handoff sink contract, shared by the local inbox and the Matrix room."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


def handoff_txn_id(case_ref: str) -> str:
    return f"vertrouwd-handoff-{case_ref}"


@dataclass(frozen=True)
class OutgoingHandoff:
    case_ref: str
    adviser_id: str
    payload: dict[str, Any]

    @property
    def txn_id(self) -> str:
        """Stable per handoff, so a retried delivery is recognised, never doubled."""
        return handoff_txn_id(self.case_ref)


@dataclass(frozen=True)
class Receipt:
    """Proof of delivery: the sink's reference (a Matrix event id) and where it went."""

    ref: str
    target: str


class DeliveryDeferred(Exception):
    """The sink cannot deliver now; the handoff stays in the outbox and is retried.

    ``reason`` is a short code safe to log and show the admin: never content.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RecipientGone(Exception):
    """The person's chat no longer takes messages from the bot (blocked, left): a
    retry cannot help. ``reason`` is a short code."""

    # What the adviser's thread is told (a relay note kind, text thread.<note>).
    note = "employee_unreachable"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryRefused(RecipientGone):
    """The platform refused this message for good (a chat it does not know, a text it
    cannot take): it would refuse it again, so it is not retried."""

    note = "refused.employee"


@dataclass(frozen=True)
class ThreadText:
    text: str
    # An employee's message and reminders notify the adviser (m.text); notes do not.
    notify: bool


@dataclass(frozen=True)
class ThreadPost:
    """A post in a case's thread; an empty ``room_id`` posts outside any thread."""

    case_ref: str
    adviser_id: str
    room_id: str
    thread_root: str
    content: ThreadText
    txn_id: str


@dataclass(frozen=True)
class CasePosts:
    """The bot's own posts about a case (the handoff first), to remove after retention."""

    case_ref: str
    room_id: str
    thread_root: str
    event_ids: tuple[str, ...]


class HandoffSink(Protocol):
    name: str

    def prepare(self, adviser_id: str) -> None:
        """A handoff for this adviser is about to be committed: start any slow,
        read-only preparation now (it must not deliver anything)."""

    async def deliver(self, handoff: OutgoingHandoff) -> Receipt:
        """Deliver exactly once per txn_id; the receipt names the event and the room.

        Raises DeliveryDeferred when the handoff must wait.
        """

    async def post_in_thread(self, post: ThreadPost) -> Receipt:
        """Post into the case's thread exactly once per txn_id, under the same checks
        as a handoff. Raises DeliveryDeferred when it must wait."""

    async def remove_posts(self, posts: CasePosts) -> None:
        """Remove the bot's posts about a case (its retention term has passed)."""

    async def close(self) -> None:
        """Release connections."""
