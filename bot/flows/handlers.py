"""One small handler per state: it reads the answer, records it and moves the machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Config
from bot.flows.answers import parse_email, parse_phone
from bot.flows.conversation import Conversation, Handoff, LineAction, StepContext
from bot.flows.machine import CHANGEABLE, fire, go_to
from bot.flows.questions import consent_version
from bot.flows.summary import emergency_text
from bot.messages import Reply
from bot.texts import Texts


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

    def say(self, text: str) -> None:
        self.notes.append(Reply(text))

    def show_emergency(self, t: Texts, config: Config) -> None:
        if not self.emergency_shown:
            self.say(emergency_text(t, config))
            self.emergency_shown = True


Handler = Callable[[Conversation, Answer, StepContext, Texts, Outcome], None]


def first_unanswered(conv: Conversation, ctx: StepContext) -> str | None:
    """The first intake question without a usable answer, or None when all are there."""
    answers = conv.answers
    config = ctx.config
    adviser_ids = {a.id for a in config.advisers}
    checks = [
        ("consent", "consent" in answers),
        ("adviser", answers.get("adviser") in adviser_ids),
        ("danger", "danger" in answers),
        ("topic", answers.get("topic") in config.intake.topics),
        ("description", "description" in answers),
        ("name", "name" in answers),
        ("contact_method", "contact_method" in answers),
        ("phone", answers.get("contact_method") != "phone" or "contact_detail" in answers),
        ("email", answers.get("contact_method") != "email" or "contact_detail" in answers),
        ("reachable", "reachable" in answers),
        ("urgency", "urgency" in answers),
    ]
    return next((state for state, done in checks if not done), None)


def start_or_continue(conv: Conversation, ctx: StepContext) -> None:
    if not conv.has_draft():
        fire(conv, "start_intake", ctx)
        return
    go_to(conv, conv.draft_at or first_unanswered(conv, ctx) or "review")
    conv.draft_at = None


def detour(conv: Conversation, trigger: str, ctx: StepContext) -> None:
    conv.detour_from = conv.state
    fire(conv, trigger, ctx)


def end_detour(conv: Conversation) -> None:
    go_to(conv, conv.detour_from or "menu")
    conv.detour_from = None


def on_menu(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    match answer.choice:
        case "intake" | "continue":
            start_or_continue(conv, ctx)
        case "about":
            fire(conv, "open_about", ctx)
        case "help_now":
            out.show_emergency(t, ctx.config)
        case "language":
            detour(conv, "choose_language", ctx)
        case "delete":
            detour(conv, "ask_delete", ctx)


def on_about(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    match answer.choice:
        case "role" | "confidentiality" | "faq":
            out.say(t(f"about.{answer.choice}"))
        case "intake" | "continue":
            start_or_continue(conv, ctx)
        case "menu":
            fire(conv, "open_menu", ctx)


def on_language(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    conv.lang = answer.choice or conv.lang
    out.say(ctx.catalog.texts(conv.lang)("language.changed"))
    end_detour(conv)


def on_confirm_delete(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    if answer.choice == "yes":
        out.erase = True
        out.say(t("delete.done"))
    else:
        out.say(t("delete.kept"))
        end_detour(conv)


def on_consent(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    if answer.choice == "disagree":
        conv.drop_draft()
        out.say(t("consent.refused"))
        fire(conv, "refuse", ctx)
        return
    conv.answers["consent"] = {
        "at": ctx.now.isoformat(),
        "version": consent_version(t, ctx.config),
    }
    if len(ctx.config.advisers) == 1:
        conv.answers["adviser"] = ctx.config.advisers[0].id
    fire(conv, "next", ctx)


def _record_choice(key: str) -> Handler:
    def handler(
        conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
    ) -> None:
        conv.answers[key] = answer.choice
        fire(conv, "next", ctx)

    handler.__name__ = f"on_{key}"
    return handler


def on_danger(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    conv.answers["danger"] = answer.choice == "yes"
    if conv.answers["danger"]:
        out.show_emergency(t, ctx.config)
        out.say(t("danger.continue"))
    fire(conv, "next", ctx)


def _record_optional_text(key: str, none_choice: str) -> Handler:
    def handler(
        conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
    ) -> None:
        conv.answers[key] = None if answer.choice == none_choice else answer.text
        fire(conv, "next", ctx)

    handler.__name__ = f"on_{key}"
    return handler


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


def on_reachable(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    conv.answers["reachable"] = (
        {"choice": answer.choice} if answer.choice else {"text": answer.text}
    )
    fire(conv, "next", ctx)


def _handoff(conv: Conversation, ctx: StepContext) -> Handoff:
    answers = dict(conv.answers)
    consent = answers.pop("consent")
    case_ref = ctx.new_case_ref()
    payload = {
        "format": 1,
        "case_ref": case_ref,
        "created_at": ctx.now.isoformat(),
        "channel": ctx.channel,
        "language": conv.lang,
        "urgent": bool(answers.get("danger")),
        "answers": answers,
        "consent": consent,
    }
    return Handoff(case_ref=case_ref, adviser_id=answers["adviser"], payload=payload)


def on_review(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    match answer.choice:
        case "send":
            missing = first_unanswered(conv, ctx)
            if missing is not None:
                out.say(t("review.incomplete"))
                go_to(conv, missing)
                return
            out.handoff = _handoff(conv, ctx)
            conv.drop_draft()
            conv.last_case = out.handoff.case_ref
            out.say(
                t(
                    "sent.text",
                    case_ref=out.handoff.case_ref,
                    days=ctx.config.contact_within_working_days,
                )
            )
            fire(conv, "send", ctx)
        case "change":
            fire(conv, "change", ctx)
        case "cancel":
            conv.drop_draft()
            out.say(t("cancel.done"))
            fire(conv, "open_menu", ctx)


def on_change(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    if answer.choice == "back" or answer.choice not in CHANGEABLE:
        fire(conv, "back", ctx)
        return
    conv.editing = True
    fire(conv, "edit", ctx, field=answer.choice)


HANDLERS: dict[str, Handler] = {
    "menu": on_menu,
    "about": on_about,
    "language": on_language,
    "confirm_delete": on_confirm_delete,
    "consent": on_consent,
    "adviser": _record_choice("adviser"),
    "danger": on_danger,
    "topic": _record_choice("topic"),
    "description": _record_optional_text("description", "skip"),
    "name": _record_optional_text("name", "anonymous"),
    "contact_method": on_contact_method,
    "phone": _record_detail(parse_phone, "phone.invalid"),
    "email": _record_detail(parse_email, "email.invalid"),
    "reachable": on_reachable,
    "urgency": _record_choice("urgency"),
    "review": on_review,
    "change": on_change,
}
