"""The adviser registers for the annual report: at closing, later, or a contact outside the bot.

The questions are asked in the case's thread (or, for `!register` in the room, in a
thread of their own); each answer is one adviser event, acted on once, and the last
one turns the answers into counts in the same transaction that deletes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.config import Adviser, Config
from bot.line.terms import zone
from bot.report.periods import quarter_of
from bot.report.register import CASE, OUTSIDE, answer, new_state, question_text
from bot.report.tallies import activity_tally, registration_tally
from bot.store import SqliteStore
from bot.store.line_records import CaseInfo
from bot.store.stat_records import Registration
from bot.texts.catalog import Catalog, Texts

ACTIVITY_KINDS = {
    "information": "information",
    "informatie": "information",
    "voorlichting": "information",
    "session": "information",
    "sessie": "information",
    "training": "training",
    "workshop": "training",
    "other": "other",
    "anders": "other",
    "overig": "other",
    # The adviser's own work: intervision, their own training, meetings with the
    # management or the works council.
    "intervision": "intervision",
    "intervisie": "intervision",
    "course": "course",
    "scholing": "course",
    "cursus": "course",
    "management": "management",
    "directie": "management",
    "council": "works_council",
    "or": "works_council",
    "ondernemingsraad": "works_council",
}
# `!activity withdraw …`: the first word that takes an entry back.
WITHDRAW_WORDS = frozenset({"withdraw", "intrekken", "undo", "terug"})
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$|^(\d{1,2})-(\d{1,2})-(\d{4})$")
_MOST_PARTICIPANTS = 100_000


@dataclass(frozen=True)
class Said:
    text: str
    acted: bool


def case_key(case_ref: str) -> str:
    return f"case:{case_ref}"


def room_key(event_id: str) -> str:
    return f"room:{event_id}"


class RegistrationDesk:
    def __init__(
        self,
        store: SqliteStore,
        config: Config,
        catalog: Callable[[], Catalog],
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._config = config
        self._catalog = catalog
        self._clock = clock

    def _languages(self) -> list[Texts]:
        catalog = self._catalog()
        return [catalog.texts(lang) for lang in catalog.languages()]

    def _question(self, state: dict[str, object], t: Texts) -> str:
        return question_text(state, t, self._config.intake.topics)

    def start_for_case(self, case: CaseInfo) -> Registration:
        """The registration that a `!close` starts, in the same step."""
        state = {**new_state(CASE), "period": list(quarter_of(case.created_at, self._config))}
        return Registration(case_key(case.case_ref), case.adviser_id, case.case_ref, state)

    def first_question(self, registration: Registration, t: Texts) -> str:
        return f"{t('register.intro')}\n\n{self._question(registration.state, t)}"

    async def pending(self, case_ref: str) -> bool:
        return await self._store.registration(case_key(case_ref)) is not None

    async def case_command(self, case: CaseInfo, event_id: str, t: Texts) -> Said:
        """`!register` in the thread of an ended case: register it (now, or once more
        shown where it stands)."""
        draft = await self._store.registration(case_key(case.case_ref))
        if draft is not None:
            return Said(self._question(draft.state, t), False)
        if await self._store.case_registered(case.case_ref):
            return Said(t("register.already", case_ref=case.case_ref), False)
        registration = self.start_for_case(case)
        acted = await self._store.start_registration(registration, event_id, self._clock())
        return Said(self.first_question(registration, t), acted)

    async def withdraw_case(self, case: CaseInfo, event_id: str, t: Texts) -> Said:
        """`!register withdraw` in the thread of an ended case: take back what its
        registration counted, and ask the questions again."""
        registration = self.start_for_case(case)
        if not await self._store.withdraw_registration(registration, event_id, self._clock()):
            registered = await self._store.case_registered(case.case_ref)
            refusal = "register.withdraw_not_kept" if registered else "register.nothing_to_withdraw"
            return Said(t(refusal, case_ref=case.case_ref), False)
        withdrawn = t("register.withdrawn", case_ref=case.case_ref)
        return Said(f"{withdrawn}\n\n{self.first_question(registration, t)}", True)

    async def outside(self, adviser: Adviser, event_id: str, t: Texts) -> Said:
        """`!register` in the room: a contact outside the bot, asked in its own thread."""
        state = {**new_state(OUTSIDE), "period": list(quarter_of(self._clock(), self._config))}
        registration = Registration(room_key(event_id), adviser.id, None, state)
        acted = await self._store.start_registration(registration, event_id, self._clock())
        return Said(f"{t('register.intro_outside')}\n\n{self._question(state, t)}", acted)

    async def answer(
        self, thread_key: str, adviser: Adviser, event_id: str, text: str
    ) -> Said | None:
        """An answer in a registration's thread; None when no registration is asked there."""
        draft = await self._store.registration(thread_key)
        if draft is None or draft.adviser_id != adviser.id:
            return None
        t = self._catalog().texts(adviser.language)
        turn = answer(draft.state, text, self._config.intake.topics, self._languages())
        if not turn.understood:
            return Said(f"{t('register.unclear')}\n\n{self._question(draft.state, t)}", False)
        now = self._clock()
        if not turn.done:
            acted = await self._store.registration_step(thread_key, event_id, turn.state, None, now)
            return Said(self._question(turn.state, t), acted)
        year, quarter = (int(x) for x in turn.state["period"])  # type: ignore[attr-defined]
        tally = registration_tally(turn.state, adviser.id, (year, quarter))
        acted = await self._store.registration_step(thread_key, event_id, None, tally, now)
        return Said(t("register.done_case" if draft.case_ref else "register.done"), acted)

    async def _withdraw_activity(
        self, adviser: Adviser, event_id: str, argument: str, t: Texts
    ) -> Said:
        return await withdraw_activity(
            self._store, self._config, adviser.id, argument, event_id, self._clock(), t
        )

    async def activity(self, adviser: Adviser, event_id: str, argument: str, t: Texts) -> Said:
        """`!activity DATE PARTICIPANTS [KIND]`: preventive work, counted by quarter."""
        first, _, rest = argument.strip().partition(" ")
        if first.casefold() in WITHDRAW_WORDS:
            return await self._withdraw_activity(adviser, event_id, rest, t)
        parsed = parse_activity(argument, self._clock(), self._config)
        if parsed is None:
            return Said(t("activity.usage"), False)
        day, participants, kind = parsed
        tally = activity_tally(day, kind, participants, adviser.id)
        acted = await self._store.add_counts(tally, event_id, self._clock())
        return Said(
            t(
                "activity.saved",
                kind=t(f"activity.kind_{kind}"),
                participants=participants,
                quarter=f"{day.year} Q{(day.month - 1) // 3 + 1}",
            ),
            acted,
        )


async def withdraw_activity(
    store: SqliteStore,
    config: Config,
    adviser_id: str,
    argument: str,
    event_id: str | None,
    now: float,
    t: Texts,
) -> Said:
    """`!activity withdraw DATE PARTICIPANTS [KIND]`: take back one entered by mistake."""
    parsed = parse_activity(argument, now, config)
    if parsed is None:
        return Said(t("activity.usage"), False)
    day, participants, kind = parsed
    tally = activity_tally(day, kind, participants, adviser_id)
    quarter = f"{day.year} Q{(day.month - 1) // 3 + 1}"
    kind_text = t(f"activity.kind_{kind}")
    if not await store.withdraw_counts(tally, "activity", event_id, now):
        return Said(
            t("activity.not_there", kind=kind_text, participants=participants, quarter=quarter),
            False,
        )
    return Said(
        t("activity.withdrawn", kind=kind_text, participants=participants, quarter=quarter),
        True,
    )


def parse_activity(argument: str, now: float, config: Config) -> tuple[date, int, str] | None:
    """``2026-03-12 25 training``, ``12-3-2026 25``, ``today 40 voorlichting``."""
    words = argument.casefold().split()
    if len(words) not in (2, 3) or not words[1].isdigit():
        return None
    if words[0] in ("today", "vandaag"):
        day = datetime.fromtimestamp(now, zone(config)).date()
    else:
        match = _DATE.match(words[0])
        if match is None:
            return None
        y, m, d = match.group(1, 2, 3) if match.group(1) else match.group(6, 5, 4)
        try:
            day = date(int(y), int(m), int(d))
        except ValueError:
            return None
    participants = int(words[1])
    kind = ACTIVITY_KINDS.get(words[2]) if len(words) == 3 else "information"
    if kind is None or participants > _MOST_PARTICIPANTS or not 2000 <= day.year <= 2999:
        return None
    return day, participants, kind
