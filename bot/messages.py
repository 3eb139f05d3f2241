"""What crosses the boundary between a channel adapter and the conversation core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.keys.crypto import UserKey


class InboundKind(Enum):
    MESSAGE = "message"
    # The person came back to an open channel (terminal start, Telegram /start
    # after a while): the bot re-asks where they were, or introduces itself.
    RESUME = "resume"
    # Something other than text (photo, voice, sticker): never stored or read.
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Inbound:
    channel: str
    user_id: str
    text: str | None = None
    choice: str | None = None
    kind: InboundKind = InboundKind.MESSAGE
    # The platform's idea of the person's language, used for a new conversation.
    language_hint: str | None = None
    # With a choice from a button: the token of the question the button belonged to,
    # so a press on an older keyboard is never applied to a later question.
    question: str | None = None
    # Where replies for this person go on their channel (a chat id): stored sealed,
    # for messages that are not an answer to this one.
    reply_to: str | None = None
    # The platform's id of this message: one already handled (a channel replaying
    # after a crash) is not handled twice.
    message_id: str | None = None
    # Someone else's words passed on (a forwarded message): text, never a choice or a
    # command.
    forwarded: bool = False


@dataclass(frozen=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True)
class Progress:
    """Where an intake question stands on the person's path: ``number`` of ``total``;
    ``follow_up`` for a question that belongs to the one numbered (a phone number after
    "how may the adviser contact you")."""

    number: int
    total: int
    follow_up: bool = False


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    # Set on the question that ends a step: a button press carries it back.
    question: str | None = None
    # Set on the intake's own questions, for a channel that shows "question 3 of 8".
    progress: Progress | None = None


Deliver = Callable[[Sequence[Reply]], Awaitable[None]]


class Conversations(Protocol):
    """What a channel asks of the core: the engine of one organisation, or the chooser
    in front of a bureau's organisations. Adapters hold one of these, never more."""

    on_erased: list[Callable[[Inbound], Awaitable[None]]]

    async def handle(self, inbound: Inbound, deliver: Deliver) -> None: ...

    async def notice(
        self, channel: str, user_id: str, key: str, language_hint: str | None = None, **values: Any
    ) -> str: ...

    async def limited_notice(
        self, channel: str, user_id: str, key: str, language_hint: str | None = None, **values: Any
    ) -> str | None: ...

    def user_key(self, channel: str, user_id: str) -> UserKey: ...

    async def conversation_state(self, user: UserKey) -> str | None: ...

    async def keeps_anything(self, user: UserKey) -> bool: ...

    async def knows(self, channel: str, user_id: str) -> bool: ...
