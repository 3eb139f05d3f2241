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

from threadpoolctl import threadpool_limits

from bot.flows.commands import SLASH_COMMAND
from bot.flows.danger.tiers import DangerScore
from bot.flows.intake import clean_text
from bot.messages import Inbound, InboundKind
from bot.scorer.model import SURE_FROM_WORDS, DangerScorer
from bot.util.failures import describe_failure

log = logging.getLogger(__name__)

# What a scorer reads of one message: enough for any story, bounded for the CPU.
MAX_SCORED_CHARS = 4000
# Messages scored in one pass of the encoder, at most.
_BATCH = 32

_shared: DangerScorer | None = None
_loading = threading.Lock()


def shared_scorer() -> DangerScorer:
    """The process's scorer, loaded on first use (about a second) and kept."""
    global _shared
    with _loading:
        if _shared is None:
            # One BLAS thread for the whole process: a message's vectors are small, and
            # more threads only spin and wait for each other on a busy core (40 ms of CPU
            # per message instead of 3, and every step behind it waits).
            threadpool_limits(limits=1, user_api="blas")
            _shared = DangerScorer.load()
            # The model's many small objects (the tokenizer's vocabulary) live as long
            # as the process: out of the collector's full passes, which otherwise stop
            # the event loop for over 100 ms at a time (bench/web.py's p99).
            gc.collect()
            gc.freeze()
        return _shared


def _one_by_one(scorer: DangerScorer, texts: list[str]) -> list[DangerScore | None]:
    scores: list[DangerScore | None] = []
    for text in texts:
        try:
            scores.append(scorer.score(text))
        except Exception as exc:  # noqa: BLE001 - one odd message, not the scorer's end
            log.warning("a message could not be scored: %s", describe_failure(exc))
            scores.append(None)
    return scores


class ScoringService:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="danger-scorer")
        self._ready: asyncio.Future[DangerScorer] | None = None
        self._broken = False
        # Messages waiting for the scorer: scored together, as many as wait at once.
        self._waiting: list[tuple[str, asyncio.Future[DangerScore | None]]] = []
        self._scoring: asyncio.Task[None] | None = None

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
        heard: asyncio.Future[DangerScore | None] = loop.create_future()
        self._waiting.append((text[:MAX_SCORED_CHARS], heard))
        if self._scoring is None or self._scoring.done():
            self._scoring = asyncio.create_task(self._score_waiting(scorer), name="scoring")
        return await heard

    async def _score_waiting(self, scorer: DangerScorer) -> None:
        """While messages wait: score them together (when many come at once, each waits
        for one pass of the encoder, not for every message before it)."""
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:_BATCH], self._waiting[_BATCH:]
                texts = [text for text, _ in batch]
                try:
                    try:
                        scores: list[DangerScore | None] = list(
                            await loop.run_in_executor(self._executor, scorer.score_many, texts)
                        )
                    except Exception:  # noqa: BLE001 - one odd message must not cost the others
                        scores = await loop.run_in_executor(
                            self._executor, _one_by_one, scorer, texts
                        )
                    for (_, heard), score in zip(batch, scores, strict=True):
                        if not heard.done():
                            heard.set_result(score)
                finally:
                    # Stopped or failed midway: nobody waits for ever (the patterns still hear).
                    for _, heard in batch:
                        if not heard.done():
                            heard.set_result(None)
        except BaseException:
            # Stopped: whoever still waits hears nothing from the scorer (the patterns
            # still hear them).
            waiting, self._waiting = self._waiting, []
            for _, heard in waiting:
                if not heard.done():
                    heard.set_result(None)
            raise

    async def close(self) -> None:
        if self._scoring is not None and not self._scoring.done():
            await asyncio.wait([self._scoring])
        if self._ready is not None and not self._ready.done():
            await asyncio.wait([self._ready])
        await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)
