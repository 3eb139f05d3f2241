"""The store contract every implementation fulfils (tests/test_store_contract.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.keys.crypto import UserKey
from bot.sinks.base import Receipt
from bot.store.line_records import LineStep, NewCase
from bot.store.stat_records import Tally


class StoreError(Exception):
    """The store could not do what was asked; nothing of the step was written."""


class UnreadableRecord(StoreError):
    """A stored record cannot be opened (damaged, or sealed with another key)."""


class CaseRefTaken(StoreError):
    """The new handoff's case reference already exists: retry with another one."""


@dataclass(frozen=True)
class ConversationRecord:
    state: str
    lang: str
    data: dict[str, Any]  # personal: stored encrypted


# Every conversation and case row carries a version, raised by every write. A step
# names the versions it read; a save whose rows moved on since writes nothing and
# raises VersionConflict, and the engine runs the step again on the fresh rows. So a
# cached row that went stale (another process, another window) costs one more read,
# never a lost or doubled step.


class VersionConflict(StoreError):
    """Another step saved first: nothing was written; read again and step again."""


@dataclass(frozen=True, slots=True)
class OpenLine:
    """The person's open line to their adviser, as read."""

    case_ref: str
    version: int


@dataclass(frozen=True, slots=True)
class StepBase:
    """What a step starts from: the conversation and the open line, with their versions."""

    record: ConversationRecord | None
    version: int  # of the conversation row; 0: there was none
    line: OpenLine | None


@dataclass(frozen=True)
class NewHandoff:
    case_ref: str
    adviser_id: str
    payload: dict[str, Any]  # personal: stored encrypted, purged once delivered
    case: NewCase | None = None  # the line that opens with it
    tally: Tally | None = None  # what it adds to the annual report's counts


@dataclass(frozen=True)
class PendingHandoff:
    id: int
    case_ref: str
    adviser_id: str
    payload: dict[str, Any]
    attempts: int
    created_at: float = 0.0  # when it was queued: the delivery latency starts there


@dataclass(frozen=True)
class DeliveredHandoff:
    """What stays of a handoff once delivered: no content, no link to the person."""

    case_ref: str
    adviser_id: str
    created_at: float
    delivered_at: float
    receipt: Receipt


@dataclass(frozen=True)
class TextChange:
    """One change of a text by an admin: the audit log (texts are not personal data)."""

    id: int
    at: float
    actor: str  # the admin's Matrix id
    lang: str
    key: str
    before: str | None  # None: the language had no text for the key
    after: str


@dataclass(frozen=True)
class Waiting:
    """The queues as the operator sees them: how many, and since when the oldest."""

    handoffs: int
    oldest_handoff_at: float | None
    relays: int
    oldest_relay_at: float | None  # of the relays this process can send


class Store(Protocol):
    async def load_conversation(self, user: UserKey) -> ConversationRecord | None:
        """The person's conversation, decrypted, or None if there is none."""

    async def load_step(self, user: UserKey) -> StepBase:
        """What a step starts from: the conversation and the person's open line, with
        the versions of both as read."""

    async def save_step(
        self,
        user: UserKey,
        record: ConversationRecord | None,
        handoff: NewHandoff | None,
        now: float,
        line: LineStep | None = None,
        base: StepBase | None = None,
    ) -> None:
        """Persist one step atomically: the conversation (None erases everything about
        the person: undelivered handoffs, their cases' links, timers and unsent relays;
        an adviser who had the handoff gets a notice), an optional new handoff with
        the case it opens, and what the step does on the person's open line.

        With ``base``, only if the conversation and the line are still at the versions
        read; else nothing is written and VersionConflict is raised."""

    async def open_case(self, user: UserKey) -> str | None:
        """The case reference of the person's open line, or None."""

    async def line_counts(self) -> tuple[int, int]:
        """Open lines, and relays waiting to be sent."""

    async def due_handoffs(self, now: float, limit: int) -> list[PendingHandoff]:
        """Undelivered handoffs whose next attempt is due, oldest first."""

    async def next_attempt_at(self) -> float | None:
        """When the earliest undelivered handoff is due, or None if there is none."""

    async def mark_delivered(self, handoff_id: int, receipt: Receipt, now: float) -> None:
        """Record delivery (event and room) and purge the handoff's content and its link
        to the person; the case reference and times stay."""

    async def delivered_handoff(self, case_ref: str) -> DeliveredHandoff | None:
        """The record of a delivered handoff, or None if it is not delivered (yet)."""

    async def defer_handoff(self, handoff_id: int, retry_at: float, reason: str) -> None:
        """Count a failed attempt and schedule the next; ``reason`` is a code, never content."""

    async def pending_count(self) -> int:
        """How many handoffs wait for delivery."""

    async def conversation_count(self) -> int:
        """How many conversations are stored (a figure for status and benchmarks)."""

    async def purge_idle_conversations(self, idle_since: float) -> int:
        """Delete conversations untouched since ``idle_since``; returns how many."""

    async def record_text_change(
        self, actor: str, lang: str, key: str, before: str | None, after: str, now: float
    ) -> int:
        """Add a change to the audit log; returns its number."""

    async def text_changes(self, key: str, lang: str | None = None) -> list[TextChange]:
        """The changes of a text, newest first (of one language, or of all)."""

    async def text_change(self, change_id: int) -> TextChange | None:
        """One change by its number."""

    async def last_delivery_at(self) -> float | None:
        """When the last handoff was delivered, or None if none was."""

    async def close(self) -> None:
        """Finish pending writes and release the database."""

    async def probe_write(self, now: float) -> None:
        """Write one row, to prove the store takes writes; raises StoreError if not."""

    async def waiting(self, channels: Iterable[str]) -> Waiting:
        """How many handoffs and relays wait, and since when the oldest of each (of
        the relays, among those the ``channels`` this process serves can send)."""
