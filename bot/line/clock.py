"""The line's clock: check-ins and reminders, each fired once, across restarts.

A timer is marked fired in the same transaction that queues what it says, so a
crash either leaves it due (it fires after the restart) or fired with its relays
queued; never both, never neither.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.config import Config
from bot.line.terms import (
    ACK_REMINDER,
    CHECKIN,
    FEEDBACK_REMINDER,
    REPLY_REMINDER,
    local_date,
    term_deadline,
)
from bot.store import SqliteStore, StoreError
from bot.store.line_records import OPEN, TO_ADVISER, TO_EMPLOYEE, DueTimer, RelayNote
from bot.util.waking import sleep_until_due

log = logging.getLogger(__name__)

# Timers set by another process (`vertrouwd write`), and wall-clock jumps, are
# noticed within this time.
_IDLE_CHECK_SECONDS = 60.0


def notes_for(timer: DueTimer, config: Config) -> tuple[RelayNote, ...]:
    """What a timer says when it fires. The whistleblower terms' reminders come
    whatever the line's state (they bind the organisation); the others only while the
    case is open, and no reply reminder once the adviser has answered."""
    case = timer.case
    if timer.kind in (ACK_REMINDER, FEEDBACK_REMINDER):
        deadline = local_date(term_deadline(timer.kind, timer.due_at, config), config)
        care = config.aftercare
        values = (
            {"days": care.acknowledgement_days, "date": deadline}
            if timer.kind == ACK_REMINDER
            else {"months": care.feedback_months, "date": deadline}
        )
        return (RelayNote(TO_ADVISER, timer.kind, values=values),)
    if case.status != OPEN:
        return ()
    match timer.kind:
        case "reply_reminder" if case.adviser_replied_at is None:
            days = config.aftercare.reply_reminder_working_days
            return (RelayNote(TO_ADVISER, REPLY_REMINDER, values={"days": days}),)
        case "checkin":
            return (RelayNote(TO_EMPLOYEE, CHECKIN), RelayNote(TO_ADVISER, "checkin_sent"))
    return ()


class TimerWorker:
    def __init__(
        self,
        store: SqliteStore,
        config: Config,
        clock: Callable[[], float],
        on_fired: Callable[[], None],
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._on_fired = on_fired
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        """A timer was scheduled: look again when the next one is due."""
        self._wake.set()

    async def fire_due(self) -> int:
        fired = 0
        async with self._lock:
            for timer in await self._store.due_timers(self._clock()):
                notes = notes_for(timer, self._config)
                if await self._store.fire_timer(timer.id, timer.case_ref, notes, self._clock()):
                    fired += 1
                    log.info(
                        "case %s: %s fired, %d notes queued", timer.case_ref, timer.kind, len(notes)
                    )
        if fired:
            self._on_fired()
        return fired

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.fire_due()
                next_at = await self._store.next_timer_at()
            except StoreError as exc:
                log.error("timer pass failed: %s", type(exc).__name__)
                next_at = None
            await sleep_until_due(self._wake, next_at, self._clock, _IDLE_CHECK_SECONDS)
