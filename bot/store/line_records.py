"""What the store keeps about the line between adviser and employee after a handoff."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from bot.store.stat_records import Registration, Tally

TO_ADVISER: Final = "to_adviser"
TO_EMPLOYEE: Final = "to_employee"
Direction = Literal["to_adviser", "to_employee"]

OPEN = "open"
CLOSED = "closed"  # by the adviser, or after a long silence
STOPPED = "stopped"  # by the employee (/stop)
WITHDRAWN = "withdrawn"  # the employee erased everything (/delete)


@dataclass(frozen=True)
class CaseContact:
    """How to reach the person on their channel: personal, stored sealed."""

    address: str | None
    lang: str
    pseudonym: str | None


@dataclass(frozen=True)
class Timer:
    kind: str
    due_at: float


@dataclass(frozen=True)
class NewCase:
    """Opened in the transaction of the handoff that starts it."""

    channel: str
    contact: CaseContact
    whistleblower: bool
    timers: tuple[Timer, ...] = ()


@dataclass(frozen=True)
class RelayNote:
    """A message or notice for one side of the line, stored sealed until sent."""

    direction: Direction
    kind: str  # "message", or a kind of notice rendered in the reader's language
    text: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LineStep:
    """What an employee's step does to their open line, in the step's transaction."""

    case_ref: str
    notes: tuple[RelayNote, ...] = ()
    close_as: str | None = None  # STOPPED when the employee ends the line
    address: str | None = None  # where the person writes from now


@dataclass(frozen=True)
class AdviserStep:
    """What an adviser's event does to a case, in one transaction, at most once."""

    case_ref: str
    event_id: str
    notes: tuple[RelayNote, ...] = ()
    replied: bool = False
    close: bool = False
    timer: Timer | None = None
    timers: tuple[Timer, ...] = ()
    replace_timers: tuple[str, ...] = ()  # kinds of pending timers that the new ones replace
    any_status: bool = False  # acts on a closed case too (the whistleblower terms)
    first_contact: Tally | None = None  # counted if this is the adviser's first answer
    registration: Registration | None = None  # the questions asked at closing
    tally: Tally | None = None  # counts the step adds (a whistleblower report, its receipt)
    case_version: int | None = None  # the version of the case the step was decided on


@dataclass(frozen=True)
class CaseInfo:
    case_ref: str
    adviser_id: str
    channel: str
    status: str
    whistleblower: bool
    created_at: float
    delivered_at: float | None
    thread_root: str | None
    room_id: str | None
    adviser_replied_at: float | None
    last_activity_at: float
    closed_at: float | None
    pending_timers: tuple[Timer, ...] = ()
    unsent_relays: int = 0
    version: int = 0


@dataclass(frozen=True)
class PendingRelay:
    id: int
    case_ref: str
    adviser_id: str
    channel: str
    direction: Direction
    kind: str
    text: str | None
    values: dict[str, Any]
    attempts: int
    contact: CaseContact | None  # for the employee's side
    thread_root: str | None  # for the adviser's side
    room_id: str | None


@dataclass(frozen=True)
class DueTimer:
    id: int
    case_ref: str
    kind: str
    due_at: float
    case: CaseInfo


@dataclass(frozen=True)
class PurgeCounts:
    lines_closed: int = 0
    links_erased: int = 0
    cases_deleted: int = 0
    audit_entries: int = 0
    adviser_events: int = 0

    def total(self) -> int:
        return sum(vars(self).values())
