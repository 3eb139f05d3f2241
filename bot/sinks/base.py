"""The handoff sink contract, shared by the local inbox and the Matrix room."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class OutgoingHandoff:
    case_ref: str
    adviser_id: str
    payload: dict[str, Any]

    @property
    def txn_id(self) -> str:
        """Stable per handoff, so a retried delivery is recognised, never doubled."""
        return f"vertrouwd-handoff-{self.case_ref}"


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


class HandoffSink(Protocol):
    name: str

    def prepare(self, adviser_id: str) -> None:
        """A handoff for this adviser is about to be committed: start any slow,
        read-only preparation now (it must not deliver anything)."""

    async def deliver(self, handoff: OutgoingHandoff) -> Receipt:
        """Deliver exactly once per txn_id; the receipt names the event and the room.

        Raises DeliveryDeferred when the handoff must wait.
        """

    async def close(self) -> None:
        """Release connections."""
