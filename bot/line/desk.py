"""The adviser's side of the line: what they write in a case's thread, and commands.

Used by the Matrix adviser rooms and by `vertrouwd inbox` for the local inbox. Each
adviser event acts once (its id is recorded with what it does); the answer for the
adviser is returned as text, in the adviser's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Adviser, Config
from bot.line.terms import CHECKIN, checkin_delay, local_date
from bot.store import SqliteStore, StoreError
from bot.store.line_records import OPEN, TO_EMPLOYEE, AdviserStep, CaseInfo, RelayNote, Timer
from bot.store.versions import VersionConflict
from bot.texts import Catalog, Texts

# Command words in English and Dutch; what they do is explained in the adviser's texts.
_COMMANDS = {
    "close": "close",
    "sluit": "close",
    "checkin": "checkin",
    "nazorg": "checkin",
    "status": "status",
    "help": "help",
    "hulp": "help",
}
_DAY = 86400.0
_RERUNS = 5  # a case changed under the adviser's step this often in a row: give up


@dataclass(frozen=True)
class DeskAnswer:
    text: str | None  # None: nothing to say (a message was simply passed on)
    acted: bool  # something was queued or changed: wake the workers


class AdviserDesk:
    def __init__(
        self,
        store: SqliteStore,
        config: Config,
        catalog: Callable[[], Catalog],
        clock: Callable[[], float],
        on_change: Callable[[], None],
    ) -> None:
        self._store = store
        self._config = config
        self._catalog = catalog
        self._clock = clock
        self._on_change = on_change

    def texts(self, adviser: Adviser) -> Texts:
        return self._catalog().texts(adviser.language)

    async def in_thread(
        self, case: CaseInfo | None, adviser: Adviser, event_id: str, text: str
    ) -> DeskAnswer:
        """Act on what ``adviser`` wrote in the thread of ``case``: decided on the case
        as read, and decided again on the fresh case if it changed before the save."""
        for _attempt in range(_RERUNS):
            try:
                return await self._in_thread(case, adviser, event_id, text)
            except VersionConflict:
                assert case is not None  # only a step on a case can conflict
                case = await self._store.case(case.case_ref)
        raise StoreError("the case kept changing; the adviser's event was not applied")

    async def _in_thread(
        self, case: CaseInfo | None, adviser: Adviser, event_id: str, text: str
    ) -> DeskAnswer:
        t = self.texts(adviser)
        if case is None or case.adviser_id != adviser.id:
            return DeskAnswer(t("desk.unknown_thread"), False)
        words = text.strip().split(maxsplit=1)
        if not words:
            return DeskAnswer(None, False)  # nothing to pass on
        command = _COMMANDS.get(words[0][1:].lower()) if words[0][:1] == "!" else None
        argument = words[1] if len(words) > 1 else ""
        if words[0][:1] == "!" and command is None:
            return DeskAnswer(t("desk.unknown_command") + "\n\n" + t("desk.help"), False)
        if command == "help":
            return DeskAnswer(t("desk.help"), False)
        if command == "status":
            return DeskAnswer(self.status(case, t), False)
        if case.status != OPEN:
            status = t(f"desk.status_{case.status}")
            return DeskAnswer(t("desk.case_ended", case_ref=case.case_ref, status=status), False)
        if command == "close":
            return await self._close(case, event_id, t)
        if command == "checkin":
            return await self._checkin(case, event_id, argument, t)
        note = RelayNote(TO_EMPLOYEE, "message", text=text.strip())
        step = AdviserStep(
            case.case_ref, event_id, notes=(note,), replied=True, case_version=case.version
        )
        return DeskAnswer(None, await self._apply(step))

    async def _apply(self, step: AdviserStep) -> bool:
        acted = await self._store.adviser_step(step, self._clock())
        if acted:
            self._on_change()
        return acted

    async def _close(self, case: CaseInfo, event_id: str, t: Texts) -> DeskAnswer:
        note = RelayNote(TO_EMPLOYEE, "closed_by_adviser")
        step = AdviserStep(
            case.case_ref,
            event_id,
            notes=(note,),
            replied=True,
            close=True,
            case_version=case.version,
        )
        acted = await self._apply(step)
        return DeskAnswer(t("desk.closed", case_ref=case.case_ref), acted)

    async def _checkin(self, case: CaseInfo, event_id: str, argument: str, t: Texts) -> DeskAnswer:
        delay = checkin_delay(argument)
        most = self._config.aftercare.checkin_max_days
        if delay is None or delay <= 0 or delay > most * _DAY:
            return DeskAnswer(t("desk.checkin_invalid", max=most), False)
        due = self._clock() + delay
        step = AdviserStep(
            case.case_ref,
            event_id,
            replied=True,
            timer=Timer(CHECKIN, due),
            case_version=case.version,
        )
        acted = await self._apply(step)
        when = local_date(due, self._config)
        return DeskAnswer(t("desk.checkin_planned", case_ref=case.case_ref, date=when), acted)

    def status(self, case: CaseInfo, t: Texts) -> str:
        def when(moment: float | None) -> str:
            return local_date(moment, self._config) if moment else t("desk.not_yet")

        timers = "\n".join(
            t(
                "desk.status_timer",
                what=t(f"desk.timer_{timer.kind}"),
                date=when(timer.due_at),
            )
            for timer in case.pending_timers
        )
        return t(
            "desk.status",
            case_ref=case.case_ref,
            status=t(f"desk.status_{case.status}"),
            created=when(case.created_at),
            replied=when(case.adviser_replied_at),
            unsent=case.unsent_relays,
            timers=timers or t("desk.no_timers"),
        )
