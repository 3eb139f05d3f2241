"""The handlers of the contact questions: which way, the detail, and whether it is safe."""

from __future__ import annotations

from collections.abc import Callable

from bot.flows.answers import parse_email, parse_phone
from bot.flows.conversation import Conversation, StepContext
from bot.flows.machine import fire, go_to
from bot.flows.outcome import Answer, Handler, Outcome
from bot.texts.catalog import Texts


def on_contact_method(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    if conv.answers.get("contact_method") != answer.choice:
        conv.answers.pop("contact_detail", None)
    conv.answers["contact_method"] = answer.choice
    fire(conv, "next", ctx)


def _record_detail(parse: Callable[[str], str | None], invalid_key: str) -> Handler:
    def handler(
        conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
    ) -> None:
        if answer.choice == "other_way":
            fire(conv, "other_way", ctx)
            return
        detail = parse(answer.text or "")
        if detail is None:
            out.say(t(invalid_key))
            return
        conv.answers["contact_detail"] = detail
        fire(conv, "next", ctx)

    return handler


def on_contact_safe(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    """An e-mail address that is not safe to write to is no way of contact: another
    way is offered at once (a phone without voicemail still is one)."""
    if answer.choice == "no_message" and conv.answers.get("contact_method") == "email":
        for key in ("contact_method", "contact_detail", "contact_safe"):
            conv.answers.pop(key, None)
        out.say(t("contact_safe.email_unsafe"))
        go_to(conv, "contact_method")
        return
    conv.answers["contact_safe"] = answer.choice
    fire(conv, "next", ctx)


def on_reachable(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    conv.answers["reachable"] = (
        {"choice": answer.choice} if answer.choice else {"text": answer.text}
    )
    fire(conv, "next", ctx)


on_phone = _record_detail(parse_phone, "phone.invalid")
on_email = _record_detail(parse_email, "email.invalid")
