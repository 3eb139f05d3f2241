"""The adviser's side of the line: what they write in a case's thread, and commands.

Used by the Matrix adviser rooms and by `vertrouwd inbox` for the local inbox. Each
adviser event acts once (its id is recorded with what it does); the answer for the
adviser is returned as text, in the adviser's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Adviser, Config
from bot.line.register_desk import (
    WITHDRAW_WORDS,
    RegistrationDesk,
    Said,
    case_key,
    room_key,
)
from bot.line.terms import (
    ACK_REMINDER,
    CHECKIN,
    FEEDBACK_REMINDER,
    REPLY_REMINDER,
    ack_deadline,
    checkin_delay,
    local_date,
    parse_day,
    receipt_timers,
    report_timers,
    term_deadline,
)
from bot.report.tallies import first_contact_tally, whistleblower_tally
from bot.store import SqliteStore, StoreError
from bot.store.base import VersionConflict
from bot.store.line_records import OPEN, TO_EMPLOYEE, AdviserStep, CaseInfo, RelayNote, Timer
from bot.store.stat_records import Tally
from bot.texts.catalog import Catalog, Texts

# Command words in English and Dutch; what they do is explained in the adviser's texts.
_COMMANDS = {
    "close": "close",
    "sluit": "close",
    "checkin": "checkin",
    "nazorg": "checkin",
    "status": "status",
    "help": "help",
    "hulp": "help",
    # The employee made a report through the organisation's whistleblower procedure,
    # and the organisation confirmed its receipt: the act's terms run from these.
    "report": "report",
    "melding": "report",
    "receipt": "receipt",
    "ontvangst": "receipt",
    "register": "register",
    "registreer": "register",
    "registratie": "register",
    "activity": "activity",
    "activiteit": "activity",
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
        self.registrations = RegistrationDesk(store, config, catalog, clock)

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
            return DeskAnswer(desk_help(t), False)
        if command == "status":
            return DeskAnswer(self.status(case, t), False)
        if command in ("report", "receipt"):
            return await self._terms(case, event_id, command, argument, t)
        if command == "activity":
            return _answer(await self.registrations.activity(adviser, event_id, argument, t))
        if case.status != OPEN:
            if command == "register" and _withdraws(argument):
                return _answer(await self.registrations.withdraw_case(case, event_id, t))
            if command == "register":
                return _answer(await self.registrations.case_command(case, event_id, t))
            if command is None:
                key = case_key(case.case_ref)
                said = await self.registrations.answer(key, adviser, event_id, text)
                if said is not None:
                    return _answer(said)
            status = t(f"desk.status_{case.status}")
            return DeskAnswer(t("desk.case_ended", case_ref=case.case_ref, status=status), False)
        if command == "close":
            return await self._close(case, event_id, t)
        if command == "checkin":
            return await self._checkin(case, event_id, argument, t)
        if command == "register":
            return DeskAnswer(t("register.close_first", case_ref=case.case_ref), False)
        note = RelayNote(TO_EMPLOYEE, "message", text=text.strip())
        step = AdviserStep(
            case.case_ref,
            event_id,
            notes=(note,),
            replied=True,
            first_contact=self._first_contact(case),
            case_version=case.version,
        )
        return DeskAnswer(None, await self._apply(step))

    async def in_room(self, adviser: Adviser, event_id: str, text: str) -> DeskAnswer | None:
        """A command written in the room outside any thread: `!register` (a contact
        outside the bot) or `!activity`; None for anything else."""
        words = text.strip().split(maxsplit=1)
        command = _COMMANDS.get(words[0][1:].lower()) if words and words[0][:1] == "!" else None
        t = self.texts(adviser)
        if command == "register":
            return _answer(await self.registrations.outside(adviser, event_id, t))
        if command == "activity":
            argument = words[1] if len(words) > 1 else ""
            return _answer(await self.registrations.activity(adviser, event_id, argument, t))
        return None

    async def in_registration(
        self, adviser: Adviser, root: str, event_id: str, text: str
    ) -> DeskAnswer | None:
        """An answer in the thread of a `!register` from the room; None if there is none."""
        said = await self.registrations.answer(room_key(root), adviser, event_id, text)
        return _answer(said) if said is not None else None

    def _first_contact(self, case: CaseInfo) -> Tally | None:
        """The time to first contact, counted with the adviser's first answer."""
        if case.adviser_replied_at is not None:
            return None
        return first_contact_tally(case.created_at, case.adviser_id, self._clock(), self._config)

    async def _apply(self, step: AdviserStep) -> bool:
        acted = await self._store.adviser_step(step, self._clock())
        if acted:
            self._on_change()
        return acted

    async def _close(self, case: CaseInfo, event_id: str, t: Texts) -> DeskAnswer:
        note = RelayNote(TO_EMPLOYEE, "closed_by_adviser")
        registration = self.registrations.start_for_case(case)
        step = AdviserStep(
            case.case_ref,
            event_id,
            notes=(note,),
            replied=True,
            close=True,
            first_contact=self._first_contact(case),
            registration=registration,
            case_version=case.version,
        )
        acted = await self._apply(step)
        closed = t("desk.closed", case_ref=case.case_ref)
        return DeskAnswer(
            f"{closed}\n\n{self.registrations.first_question(registration, t)}", acted
        )

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
            first_contact=self._first_contact(case),
            case_version=case.version,
        )
        acted = await self._apply(step)
        when = local_date(due, self._config)
        return DeskAnswer(t("desk.checkin_planned", case_ref=case.case_ref, date=when), acted)

    async def _terms(
        self, case: CaseInfo, event_id: str, command: str, argument: str, t: Texts
    ) -> DeskAnswer:
        """Record the date of a whistleblower report or of its confirmed receipt; the
        reminders of the act's terms count from there, also once the chat is closed."""
        day = parse_day(argument, self._clock(), self._config)
        if day is None:
            return DeskAnswer(t(f"desk.{command}_invalid"), False)
        timers = (report_timers if command == "report" else receipt_timers)(day, self._config)
        # A confirmed receipt ends the 7-day reminder; a new date replaces the old one.
        step = AdviserStep(
            case.case_ref,
            event_id,
            timers=timers,
            replace_timers=(ACK_REMINDER, FEEDBACK_REMINDER),
            any_status=True,
            tally=self._terms_tally(case, command, day),
            case_version=case.version,
        )
        acted = await self._apply(step)
        dates = {
            timer.kind: local_date(
                term_deadline(timer.kind, timer.due_at, self._config), self._config
            )[:10]
            for timer in timers
        }
        text = t(
            f"desk.{command}_recorded",
            case_ref=case.case_ref,
            date=local_date(day, self._config)[:10],
            feedback=dates.get(FEEDBACK_REMINDER, ""),
            ack=dates.get(ACK_REMINDER, ""),
        )
        return DeskAnswer(text, acted)

    def _terms_tally(self, case: CaseInfo, command: str, day: float) -> Tally | None:
        """For the annual report: a case's first recorded report, and the first receipt
        confirmed after it, within the 7 days or later (in the report's quarter). A date
        given again replaces the reminders but counts nothing twice."""
        terms = (ACK_REMINDER, FEEDBACK_REMINDER)
        if command == "report":
            if any(timer.kind in terms for timer in case.pending_timers):
                return None
            return whistleblower_tally("reported", day, case.adviser_id, self._config)
        deadline = ack_deadline(case.pending_timers, self._config)
        if deadline is None:
            return None
        reported = deadline - self._config.aftercare.acknowledgement_days * _DAY
        value = "receipt_within" if day <= deadline else "receipt_later"
        return whistleblower_tally(value, reported, case.adviser_id, self._config)

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
            # Once answered, the reminder to answer no longer comes (bot/line/clock.py).
            if not (timer.kind == REPLY_REMINDER and case.adviser_replied_at is not None)
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


def desk_help(t: Texts) -> str:
    return f"{t('desk.help')}\n\n{t('register.help')}"


def _withdraws(argument: str) -> bool:
    """`!register withdraw` (or `!registratie intrekken`): take a registration back."""
    words = argument.casefold().split()
    return bool(words) and words[0] in WITHDRAW_WORDS


def _answer(said: Said) -> DeskAnswer:
    return DeskAnswer(said.text, said.acted)
