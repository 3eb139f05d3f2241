"""The conversation model that the shared state machine steps, and what a step produces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config import Config
from bot.flows.danger.tiers import DangerScore, Heard
from bot.messages import Reply
from bot.texts.catalog import Catalog

INITIAL_STATE = "menu"


@dataclass
class Conversation:
    """One person's conversation; loaded, stepped and saved, never kept between messages."""

    state: str
    lang: str
    answers: dict[str, Any] = field(default_factory=dict)
    # Where to return after a detour (language, delete confirmation).
    detour_from: str | None = None
    # The intake question to continue at after leaving the intake for the menu.
    draft_at: str | None = None
    # Set while the person changes one answer from the review.
    editing: bool = False
    # The case reference of the last request sent, to mention in later replies.
    last_case: str | None = None
    is_new: bool = False
    # Counts the questions asked; the token of the question now open.
    turn: int = 0
    # A description that was too long, held while the person decides what to do.
    pending_text: str | None = None
    pending_length: int = 0  # how long it was: only its first part is held
    # The person asked to send at once (danger) before choosing an adviser.
    send_now: bool = False

    @classmethod
    def new(cls, lang: str) -> Conversation:
        return cls(state=INITIAL_STATE, lang=lang, is_new=True)

    def to_data(self) -> dict[str, Any]:
        """The personal part, to be stored encrypted."""
        return {
            "answers": self.answers,
            "detour_from": self.detour_from,
            "draft_at": self.draft_at,
            "editing": self.editing,
            "last_case": self.last_case,
            "turn": self.turn,
            "pending_text": self.pending_text,
            "pending_length": self.pending_length,
            "send_now": self.send_now,
        }

    @classmethod
    def from_record(cls, state: str, lang: str, data: dict[str, Any]) -> Conversation:
        return cls(
            state=state,
            lang=lang,
            answers=dict(data.get("answers") or {}),
            detour_from=data.get("detour_from"),
            draft_at=data.get("draft_at"),
            editing=bool(data.get("editing")),
            last_case=data.get("last_case"),
            turn=int(data.get("turn") or 0),
            pending_text=data.get("pending_text"),
            pending_length=int(data.get("pending_length") or 0),
            send_now=bool(data.get("send_now")),
        )

    @property
    def question_token(self) -> str:
        return str(self.turn)

    def has_draft(self) -> bool:
        return bool(self.answers)

    def drop_draft(self) -> None:
        self.answers = {}
        self.draft_at = None
        self.editing = False
        self.pending_text = None
        self.pending_length = 0
        self.send_now = False


@dataclass(frozen=True)
class Handoff:
    """A confirmed intake, to be written to the outbox in the step's transaction."""

    case_ref: str
    adviser_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class LineAction:
    """What a step does on the person's open line to their adviser."""

    kind: str  # "message", "stop" or "talk_again"
    text: str | None = None
    urgent: bool = False  # the message may tell of danger: marked urgent for the adviser


# The question token of an after-care check-in: its buttons act while the line is open.
AFTERCARE_QUESTION = "aftercare"


@dataclass(frozen=True)
class Step:
    # None means: erase everything stored about this person.
    conversation: Conversation | None
    replies: tuple[Reply, ...]
    handoff: Handoff | None = None
    line: LineAction | None = None
    hold: Told | None = None  # words told at the menu, for the engine to hold in memory
    release_hold: bool = False  # the held words are used or refused: let them go


@dataclass(frozen=True)
class Told:
    """Words told at the menu before any request, and how strongly they were heard to
    tell of danger (the adviser sees that too, if they become the description)."""

    text: str
    heard: Heard


@dataclass(frozen=True)
class StepContext:
    """Everything a flow may depend on besides the conversation: no I/O behind it."""

    now: datetime
    catalog: Catalog
    config: Config
    channel: str
    new_case_ref: Callable[[], str]
    # The case reference of the person's open line to their adviser, if any.
    line: str | None = None
    # The learned scorer's view of what the person typed (None: nothing typed, or no
    # scorer): computed before the step, off the event loop.
    danger_score: DangerScore | None = None
    # What the person told at the menu before any request: held by the engine in
    # memory only, for a short while, never stored; offered at the description.
    told: Told | None = None
