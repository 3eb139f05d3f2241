"""What one step of the flow produces: the answer it read and what it says and asks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Config
from bot.flows.conversation import Conversation, Handoff, LineAction, StepContext
from bot.flows.summary import emergency_text
from bot.messages import Reply
from bot.texts.catalog import Texts


@dataclass(frozen=True)
class Answer:
    choice: str | None = None  # the id of the picked choice
    text: str | None = None  # typed text, where the question takes free text


@dataclass
class Outcome:
    """What a step says before its next question, and what it asks the store to do."""

    notes: list[Reply] = field(default_factory=list)
    handoff: Handoff | None = None
    line: LineAction | None = None
    erase: bool = False
    emergency_shown: bool = False
    # The message may tell of danger (strong): never answer it as "not understood".
    danger_heard: bool = False
    gentle: bool = False  # a moderate signal: one gentle line beside the normal answer
    comforted: bool = False
    hold: str | None = None  # see Step.hold
    release_hold: bool = False

    def say(self, text: str) -> None:
        self.notes.append(Reply(text))

    def show_emergency(self, t: Texts, config: Config, category: str | None = None) -> None:
        """The routes for right now: those that fit ``category``, else all of them."""
        if not self.emergency_shown:
            self.say(emergency_text(t, config, category))
            self.emergency_shown = True

    def comfort(self, t: Texts) -> None:
        """One warm line after the emergency routes, once per step."""
        if not self.comforted:
            self.say(t("danger.heard"))
            self.comforted = True


Handler = Callable[[Conversation, Answer, StepContext, Texts, Outcome], None]
