"""Retention: each kind of data goes when its term is over, logged as counts only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.config import Config
from bot.sinks.base import DeliveryDeferred, HandoffSink, ThreadPost, ThreadText
from bot.store import SqliteStore, StoreError
from bot.texts.catalog import Catalog

log = logging.getLogger(__name__)

_DAY = 86400.0


class RetentionWorker:
    def __init__(
        self,
        store: SqliteStore,
        sink: HandoffSink,
        config: Config,
        catalog: Callable[[], Catalog],
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._sink = sink
        self._config = config
        self._catalog = catalog
        self._clock = clock
        # Run after each pass: channels forget what they hold about people now gone.
        self.after_purge: list[Callable[[], Awaitable[None]]] = []

    async def purge(self) -> None:
        """One pass over every kind of data with a term."""
        now, terms = self._clock(), self._config.retention
        drafts = await self._store.purge_idle_conversations(now - terms.draft_hours * 3600)
        redact_days = terms.redact_adviser_room_days
        redacted = await self._redact(now - redact_days * _DAY) if redact_days else 0
        counts = await self._store.purge_lines(
            now,
            idle_since=now - terms.idle_line_days * _DAY,
            closed_before=now - terms.closed_case_days * _DAY,
            keep_rows_after=now - max(terms.closed_case_days, redact_days) * _DAY,
            audit_before=now - terms.audit_days * _DAY,
            require_redacted=redact_days > 0,
        )
        registrations = await self._store.purge_registrations(now - terms.closed_case_days * _DAY)
        if registrations:
            log.info("retention: %d unfinished registrations", registrations)
        for forget in self.after_purge:
            await forget()
        if drafts or redacted or counts.total():
            log.info(
                "retention: %d idle conversations, %d silent lines closed, %d case links"
                " erased, %d cases deleted, %d cases redacted in the adviser rooms,"
                " %d audit entries, %d adviser event ids",
                drafts,
                counts.lines_closed,
                counts.links_erased,
                counts.cases_deleted,
                redacted,
                counts.audit_entries,
                counts.adviser_events,
            )

    async def _redact(self, closed_before: float) -> int:
        """The bot's posts about cases closed long enough ago leave the adviser's room,
        after a notice in the case's thread (which stays, to explain the gap)."""
        done = 0
        for posts in await self._store.cases_to_redact(closed_before):
            info = await self._store.case(posts.case_ref)
            if info is None:
                continue
            lang = self._config.adviser_language(info.adviser_id)
            text = self._catalog().texts(lang)(
                "thread.redacting",
                case_ref=posts.case_ref,
                days=f"{self._config.retention.redact_adviser_room_days:g}",
            )
            notice = ThreadPost(
                posts.case_ref,
                info.adviser_id,
                posts.room_id,
                posts.thread_root,
                ThreadText(text, notify=False),
                f"vertrouwd-redacting-{posts.case_ref}",
            )
            try:
                await self._sink.post_in_thread(notice)
                await self._sink.remove_posts(posts)
            except DeliveryDeferred as exc:
                log.warning("case %s: redaction waits (%s)", posts.case_ref, exc.reason)
                continue
            await self._store.mark_redacted(posts.case_ref, self._clock())
            done += 1
        return done

    async def run(self) -> None:
        while True:
            try:
                await self.purge()
            except StoreError as exc:
                log.error("retention pass failed: %s", type(exc).__name__)
            await asyncio.sleep(self._config.retention.purge_interval_minutes * 60)
