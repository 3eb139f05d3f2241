"""Scoring off the event loop: one worker thread per running bot, the model loaded once
per process, in the background from the start. A message that comes before the model
is ready waits for it; a model that cannot load leaves the patterns alone (logged once).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from bot.flows.commands import SLASH_COMMAND
from bot.flows.danger.tiers import DangerScore
from bot.flows.intake import clean_text
from bot.messages import Inbound, InboundKind
from bot.scorer.model import SURE_FROM_WORDS, DangerScorer
from bot.util.failures import describe_failure

log = logging.getLogger(__name__)

# What a scorer reads of one message: enough for any story, bounded for the CPU.
MAX_SCORED_CHARS = 4000

_shared: DangerScorer | None = None
_loading = threading.Lock()


def shared_scorer() -> DangerScorer:
    """The process's scorer, loaded on first use (about a second) and kept."""
    global _shared
    with _loading:
        if _shared is None:
            _shared = DangerScorer.load()
            # The model's many small objects (the tokenizer's vocabulary) live as long
            # as the process: out of the collector's full passes, which otherwise stop
            # the event loop for over 100 ms at a time (bench/web.py's p99).
            gc.collect()
            gc.freeze()
        return _shared


class ScoringService:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="danger-scorer")
        self._ready: asyncio.Future[DangerScorer] | None = None
        self._broken = False

    def start(self) -> None:
        """Begin loading the model now, so the first message need not wait long."""
        if self._ready is None:
            loop = asyncio.get_running_loop()
            self._ready = loop.run_in_executor(self._executor, shared_scorer)

    async def hear(self, inbound: Inbound) -> DangerScore | None:
        """The scorer's view of what the person typed; a press or a command costs nothing."""
        text = clean_text(inbound.text or "")
        if inbound.kind is not InboundKind.MESSAGE or not text or SLASH_COMMAND.match(text):
            return None
        if len(text.split()) < SURE_FROM_WORDS or not any(ch.isalpha() for ch in text):
            return None  # a greeting, a name, a choice typed: the patterns hear "zelfmoord"
        return await self.score(text)

    async def score(self, text: str) -> DangerScore | None:
        if self._broken:
            return None
        self.start()
        assert self._ready is not None
        loop = asyncio.get_running_loop()
        try:
            # Shielded: a cancelled wait must not cancel the load for everyone else.
            scorer = await asyncio.shield(self._ready)
        except Exception as exc:  # noqa: BLE001 - the patterns still hear danger
            self._broken = True
            log.error("danger scorer unavailable, patterns only: %s", describe_failure(exc))
            return None
        try:
            return await loop.run_in_executor(self._executor, scorer.score, text[:MAX_SCORED_CHARS])
        except Exception as exc:  # noqa: BLE001 - one odd message, not the scorer's end
            log.warning("a message could not be scored: %s", describe_failure(exc))
            return None

    async def close(self) -> None:
        if self._ready is not None and not self._ready.done():
            await asyncio.wait([self._ready])
        await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)
