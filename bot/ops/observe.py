"""What the running bot reports about itself: counts and durations, never who or what.

The engine, the delivery loops and the channels tell an Observer what happened; the
default one forgets it. With ``[ops]`` on, bot/ops/metrics.py keeps Prometheus
metrics. Every argument is a fixed code (a channel name, a result, a reason code):
never a person, a case reference or content.
"""

from __future__ import annotations


def reason_code(reason: str) -> str:
    """The kind of a deferral reason ("room-guard:other-members:1" -> "room-guard"),
    so that a label has a handful of values."""
    return reason.split(":", 1)[0] or "unknown"


class Observer:
    def message(self, channel: str) -> None:
        """A message (or button press) arrived on ``channel``."""

    def step(self, ok: bool) -> None:
        """A conversation step was stored (ok) or failed."""

    def handoff_queued(self) -> None:
        """A confirmed intake entered the outbox."""

    def delivered(self, kind: str, waited_seconds: float | None = None) -> None:
        """A handoff or relay (``kind``) was delivered, after waiting that long."""

    def deferred(self, kind: str, reason: str) -> None:
        """A handoff or relay must wait; ``reason`` is the deferral's code."""

    def channel_error(self, channel: str) -> None:
        """A channel failed to reach its platform or to handle an update."""

    def texts_reloaded(self, applied: bool) -> None:
        """Edited locale files were taken up (applied) or refused."""


NO_OBSERVER = Observer()
