"""The intake's state graph: one ``transitions`` machine shared by every conversation.

The machine holds no conversation: each step passes the loaded ``Conversation`` as
the model to ``Event.trigger``. Conditions read the model and the step context that
is passed along as the ``ctx`` keyword.
"""

from __future__ import annotations

from typing import Any, cast

from transitions import EventData, Machine
from transitions.core import MachineError

from bot.flows.conversation import INITIAL_STATE, Conversation, StepContext

INTAKE_STATES = (
    "consent",
    "adviser",
    "danger",
    "topic",
    "description",
    "name",
    "contact_method",
    "phone",
    "email",
    "contact_safe",
    "reachable",
    "urgency",
    "urgent",
    "review",
    "change",
    "urgent_offer",
    "too_long",
)
# The questions of the intake, which show how to stop, pause or erase (not the
# consent, whose choices are the way out, nor the list of answers to change).
ASKING_STATES = tuple(state for state in INTAKE_STATES if state not in ("consent", "change"))
# The intake's questions in the order every path asks them ("adviser" only when there
# are several); the questions asked after one of them, as part of it.
NUMBERED_QUESTIONS = (
    "adviser",
    "danger",
    "topic",
    "description",
    "name",
    "contact_method",
    "reachable",
    "urgency",
)
FOLLOW_UPS = {
    "phone": "contact_method",
    "email": "contact_method",
    "contact_safe": "contact_method",
}
OTHER_STATES = ("menu", "about", "language", "confirm_delete", "confirm_stop", "confirm_cancel")
STATES = OTHER_STATES + INTAKE_STATES

# Answers the person can change from the review, and the question that asks each.
CHANGEABLE = {
    "adviser": "adviser",
    "danger": "danger",
    "urgent": "urgent",
    "topic": "topic",
    "description": "description",
    "name": "name",
    "contact": "contact_method",
    "reachable": "reachable",
    "urgency": "urgency",
}

_NEXT_QUESTION = {
    "adviser": "danger",
    "danger": "topic",
    "topic": "description",
    "description": "name",
    "name": "contact_method",
    "contact_safe": "reachable",
    "reachable": "urgency",
}


def _ctx(event: EventData) -> StepContext:
    ctx: StepContext = event.kwargs["ctx"]
    return ctx


def _model(event: EventData) -> Conversation:
    return cast(Conversation, event.model)


def _several_advisers(event: EventData) -> bool:
    return len(_ctx(event).config.advisers) > 1


def _editing(event: EventData) -> bool:
    return _model(event).editing


def _contact_is(method: str) -> Any:
    def condition(event: EventData) -> bool:
        return _model(event).answers.get("contact_method") == method

    return condition


def _field_is(field: str) -> Any:
    def condition(event: EventData) -> bool:
        return bool(event.kwargs.get("field") == field)

    return condition


def _transitions() -> list[dict[str, Any]]:
    # Per trigger and source, the first transition whose conditions hold wins.
    table: list[dict[str, Any]] = [
        {
            "trigger": "next",
            "source": "consent",
            "dest": "adviser",
            "conditions": _several_advisers,
        },
        {"trigger": "next", "source": "consent", "dest": "danger"},
        {
            "trigger": "next",
            "source": "contact_method",
            "dest": "phone",
            "conditions": _contact_is("phone"),
        },
        {
            "trigger": "next",
            "source": "contact_method",
            "dest": "email",
            "conditions": _contact_is("email"),
        },
        {"trigger": "next", "source": "contact_method", "dest": "review", "conditions": _editing},
        {"trigger": "next", "source": "contact_method", "dest": "reachable"},
        {"trigger": "next", "source": "urgency", "dest": "review"},
        # Asked only from the review: whether the request goes as urgent.
        {"trigger": "next", "source": "urgent", "dest": "review"},
        # Whether a voicemail or message is safe is asked even while editing.
        {"trigger": "next", "source": ["phone", "email"], "dest": "contact_safe"},
    ]
    for source, dest in _NEXT_QUESTION.items():
        table.append(
            {"trigger": "next", "source": source, "dest": "review", "conditions": _editing}
        )
        table.append({"trigger": "next", "source": source, "dest": dest})
    table += [
        {"trigger": "start_intake", "source": ["menu", "about"], "dest": "consent"},
        {"trigger": "refuse", "source": "consent", "dest": "menu"},
        {"trigger": "change", "source": "review", "dest": "change"},
        {"trigger": "back", "source": "change", "dest": "review"},
        {"trigger": "other_way", "source": ["phone", "email"], "dest": "contact_method"},
        {"trigger": "open_menu", "source": "*", "dest": "menu"},
        {"trigger": "open_about", "source": "*", "dest": "about"},
        {"trigger": "choose_language", "source": "*", "dest": "language"},
        {"trigger": "ask_delete", "source": "*", "dest": "confirm_delete"},
        {"trigger": "ask_stop", "source": "*", "dest": "confirm_stop"},
        {"trigger": "ask_cancel", "source": "*", "dest": "confirm_cancel"},
        {"trigger": "offer_urgent", "source": "*", "dest": "urgent_offer"},
        {"trigger": "ask_shorten", "source": "*", "dest": "too_long"},
    ]
    for field, question in CHANGEABLE.items():
        table.append(
            {
                "trigger": "edit",
                "source": "change",
                "dest": question,
                "conditions": _field_is(field),
            }
        )
    return table


def _stop_editing(event: EventData) -> None:
    _model(event).editing = False


def _states() -> list[dict[str, Any]]:
    return [
        {"name": name, "on_enter": [_stop_editing]} if name == "review" else {"name": name}
        for name in STATES
    ]


MACHINE = Machine(
    model=None,
    states=_states(),
    transitions=_transitions(),
    initial=INITIAL_STATE,
    auto_transitions=False,
    send_event=True,
)


class FlowError(Exception):
    """The flow asked for a transition the graph does not have: a bug, not bad input."""


def fire(conversation: Conversation, trigger: str, ctx: StepContext, **kwargs: Any) -> None:
    """Move ``conversation`` along ``trigger``; the shared machine keeps nothing of it."""
    event = MACHINE.events.get(trigger)
    try:
        moved = event is not None and event.trigger(conversation, ctx=ctx, **kwargs)
    except MachineError as exc:
        raise FlowError(f"no transition {trigger!r} from state {conversation.state!r}") from exc
    if not moved:
        raise FlowError(f"no transition {trigger!r} from state {conversation.state!r}")


def go_to(conversation: Conversation, state: str) -> None:
    """Return to a remembered state (after a detour); the state must exist."""
    MACHINE.set_state(state, model=conversation)
