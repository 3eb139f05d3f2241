"""Prometheus metrics of the running bot, on a registry of its own.

Labels take fixed codes only (channel names, results, deferral kinds): never a
person, a case reference or content.

Counts are coarse in time on purpose. Whoever sees a dashboard (often all of IT
operations) could otherwise tell, to the scrape interval, that a request was just sent
and on which channel, and put that beside badge or VPN logs. So /metrics serves a
snapshot taken at each whole ``ops.metrics_every_minutes`` of the clock (an hour by
default): a change between two snapshots places a request only within that interval,
and the age of the oldest waiting handoff is shown in whole intervals too. Whether the
bot is stuck right now is /readyz's job, which names no count.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.ops.observe import Observer, reason_code
from bot.store.base import Waiting
from bot.version import program_version

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From seconds (the homeserver is there) to a day (an adviser room waiting for a fix).
_KINDS = {"handoff": "Handoffs (confirmed intakes)", "relay": "Relays (the line, both ways)"}
_LATENCY_BUCKETS = (0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


class PrometheusObserver(Observer):
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._messages = Counter(
            "vertrouwd_messages",
            "Messages and button presses received, per channel",
            ["channel"],
            registry=registry,
        )
        self._steps = Counter(
            "vertrouwd_steps", "Conversation steps, stored or failed", ["result"], registry=registry
        )
        self._queued = Counter(
            "vertrouwd_handoffs_queued", "Confirmed intakes put in the outbox", registry=registry
        )
        self._delivered = {
            kind: Counter(f"vertrouwd_{kind}s_delivered", f"{what} delivered", registry=registry)
            for kind, what in _KINDS.items()
        }
        self._deferred = {
            kind: Counter(
                f"vertrouwd_{kind}s_deferred",
                f"Delivery attempts of {what.lower()} that must wait, by kind of reason",
                ["reason"],
                registry=registry,
            )
            for kind, what in _KINDS.items()
        }
        self._latency = Histogram(
            "vertrouwd_handoff_delivery_seconds",
            "Time from a confirmed intake to its delivery to the adviser",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self._channel_errors = Counter(
            "vertrouwd_channel_errors",
            "Failures of a channel to reach its platform or to handle an update",
            ["channel"],
            registry=registry,
        )
        self._reloads = Counter(
            "vertrouwd_text_reloads",
            "Edited locale files taken up or refused",
            ["result"],
            registry=registry,
        )
        self._handoffs_waiting = Gauge(
            "vertrouwd_handoffs_waiting", "Handoffs waiting for delivery", registry=registry
        )
        self._oldest_handoff = Gauge(
            "vertrouwd_oldest_waiting_handoff_age_seconds",
            "How long the oldest waiting handoff has waited (0: none waits)",
            registry=registry,
        )
        self._relays_waiting = Gauge(
            "vertrouwd_relays_waiting", "Relays (both ways) waiting for delivery", registry=registry
        )
        Gauge(
            "vertrouwd_start_time_seconds",
            "When this process started (Unix time)",
            registry=registry,
        ).set(clock())
        Info("vertrouwd_build", "The program's version", registry=registry).info(
            {"version": program_version()}
        )

    def message(self, channel: str) -> None:
        self._messages.labels(channel).inc()

    def step(self, ok: bool) -> None:
        self._steps.labels("stored" if ok else "failed").inc()

    def handoff_queued(self) -> None:
        self._queued.inc()

    def delivered(self, kind: str, waited_seconds: float | None = None) -> None:
        self._delivered[kind].inc()
        if kind == "handoff" and waited_seconds is not None:
            self._latency.observe(max(waited_seconds, 0.0))

    def deferred(self, kind: str, reason: str) -> None:
        self._deferred[kind].labels(reason_code(reason)).inc()

    def channel_error(self, channel: str) -> None:
        self._channel_errors.labels(channel).inc()

    def texts_reloaded(self, applied: bool) -> None:
        self._reloads.labels("applied" if applied else "refused").inc()

    def render(self, waiting: Waiting, every_seconds: float) -> bytes:
        """The exposition now, with the queue gauges as the store has them; the oldest
        handoff's age rounded down to whole intervals."""
        now = self._clock()
        self._handoffs_waiting.set(waiting.handoffs)
        oldest = waiting.oldest_handoff_at
        age = max(now - oldest, 0.0) if oldest is not None else 0.0
        self._oldest_handoff.set(age // every_seconds * every_seconds)
        self._relays_waiting.set(waiting.relays)
        return generate_latest(self.registry)


def next_boundary(now: float, every_seconds: float) -> float:
    """The next whole interval of the clock (every instance snapshots at the same time)."""
    return (now // every_seconds + 1) * every_seconds
