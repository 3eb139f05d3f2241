"""A second press of "send" for a request that already went. Pure.

Two windows (two terminals, two browser tabs, two devices) can show the same review.
Once one of them sent the request, a press on the other answers a question that is
no longer open: the person is told that their request already went, and which
question is open now, instead of being asked to answer again.
"""

from __future__ import annotations

from dataclasses import replace

from bot.flows.conversation import Conversation, Step, StepContext
from bot.flows.questions import ask
from bot.messages import Reply


def already_sent(
    conv: Conversation, answered: str | None, sent_from: str | None, ctx: StepContext
) -> Step | None:
    """The step for a message that answers ``answered``, the question token the last
    request was sent from (``sent_from``); None for any other message."""
    if answered is None or answered != sent_from or conv.last_case is None:
        return None
    t = ctx.catalog.texts(conv.lang)
    question = replace(ask(conv, ctx), question=conv.question_token)
    return Step(
        conversation=conv,
        replies=(Reply(t("already_sent.text", case_ref=conv.last_case)), question),
    )
