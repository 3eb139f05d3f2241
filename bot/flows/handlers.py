"""One small handler per state: it reads the answer, records it and moves the machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Config
from bot.flows.answers import parse_email, parse_phone
from bot.flows.conversation import Conversation, Handoff, LineAction, StepContext
from bot.flows.machine import CHANGEABLE, fire, go_to
from bot.flows.questions import consent_parts, consent_version
from bot.flows.sending import build_handoff, sent_text
from bot.flows.summary import emergency_text, other_ways_text, referrals_text
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
        (
            "contact_safe",
            answers.get("contact_method") not in ("phone", "email") or "contact_safe" in answers,
        ),
        ("reachable", "reachable" in answers),
        ("urgency", "urgency" in answers),
    ]
    return next((state for state, done in checks if not done), None)


def start_or_continue(conv: Conversation, ctx: StepContext, t: Texts, out: Outcome) -> None:
    if not conv.has_draft():
        fire(conv, "start_intake", ctx)
        for part in consent_parts(t, ctx):
            out.say(part)
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
            start_or_continue(conv, ctx, t, out)
        case "about":
            fire(conv, "open_about", ctx)
        case "help_now":
            out.show_emergency(t, ctx.config)
            if ctx.config.referral_resources:
                out.say(referrals_text(t, ctx.config))
        case "language":
            detour(conv, "choose_language", ctx)
        case "delete":
            detour(conv, "ask_delete", ctx)


def on_about(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    match answer.choice:
        case "role" | "confidentiality":
            out.say(t(f"about.{answer.choice}"))
        case "faq":
            several = "several" if len(ctx.config.advisers) > 1 else "one"
            out.say(t("about.faq") + "\n\n" + t(f"about.faq_distrust_{several}"))
        case "other_ways":
            out.say(other_ways_text(t, ctx.config))
        case "intake" | "continue":
            start_or_continue(conv, ctx, t, out)
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
    if answer.choice == "reread":
        for part in consent_parts(t, ctx):
            out.say(part)
        return
    if answer.choice == "disagree":
        conv.drop_draft()
        out.say(t("consent.refused"))
        out.say(other_ways_text(t, ctx.config))
        fire(conv, "refuse", ctx)
        return
    conv.answers["consent"] = {
        "at": ctx.now.isoformat(),
        "version": consent_version(t, ctx),
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


def on_adviser(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    conv.answers["adviser"] = answer.choice
    if conv.send_now:
        send_request(conv, ctx, t, out)
        return
    fire(conv, "next", ctx)


def on_topic(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    conv.answers["topic"] = answer.choice
    if answer.choice in ctx.config.aftercare.whistleblower_topics:
        out.say(t("topic.whistleblower_note"))  # talking is not reporting
    fire(conv, "next", ctx)


def on_danger(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    conv.answers["danger"] = answer.choice == "yes"
    if not conv.answers["danger"]:
        fire(conv, "next", ctx)
        return
    out.show_emergency(t, ctx.config)
    if conv.editing:
        out.say(t("danger.marked_review"))
        fire(conv, "next", ctx)
        return
    out.say(t("danger.marked"))
    out.comforted = True
    fire(conv, "next", ctx)
    detour(conv, "offer_urgent", ctx)


def on_urgent_offer(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    """After danger was heard: send what there is now, mark it urgent, or go on."""
    if answer.choice in ("send_now", "mark"):
        conv.answers["danger"] = True
    if answer.choice == "send_now":
        conv.detour_from = None
        if conv.answers.get("adviser") in {a.id for a in ctx.config.advisers}:
            send_request(conv, ctx, t, out)
        else:
            conv.send_now = True
            go_to(conv, "adviser")
        return
    if answer.choice == "mark":
        out.say(t("urgent.marked"))
    end_detour(conv)


def on_too_long(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    held, conv.pending_text, conv.pending_length = conv.pending_text or "", None, 0
    if answer.choice != "keep":
        out.say(t("too_long.shorten_hint"))
        end_detour(conv)
        return
    conv.answers["description"] = first_part(held, ctx.config.intake.description_max_chars)
    out.say(t("too_long.kept"))
    end_detour(conv)
    fire(conv, "next", ctx)


def first_part(text: str, limit: int) -> str:
    """The text cut to ``limit`` characters, at a word where there is one near the end."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def on_confirm_stop(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    if answer.choice == "yes":
        stop_line(ctx, t, out)
    else:
        out.say(t("stop.kept"))
    end_detour(conv)


def stop_line(ctx: StepContext, t: Texts, out: Outcome) -> None:
    """End the open chat with the adviser (they are told), or say there is none."""
    if ctx.line is None:
        out.say(t("line.none"))
        return
    out.line = LineAction("stop")
    out.say(t("line.stopped", case_ref=ctx.line))


def on_confirm_cancel(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    if answer.choice == "yes":
        conv.drop_draft()
        conv.detour_from = None
        out.say(t("cancel.done"))
        fire(conv, "open_menu", ctx)
        return
    out.say(t("cancel.kept"))
    end_detour(conv)


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


def send_request(conv: Conversation, ctx: StepContext, t: Texts, out: Outcome) -> None:
    """Hand the answers over (in this step's transaction) and say what happens next."""
    handoff: Handoff = build_handoff(conv, ctx)
    out.handoff = handoff
    conv.drop_draft()
    conv.detour_from = None
    conv.last_case = handoff.case_ref
    out.say(sent_text(handoff, ctx, t))
    go_to(conv, "menu")


def on_review(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    match answer.choice:
        case "send":
            missing = first_unanswered(conv, ctx)
            if missing is not None:
                out.say(t("review.incomplete"))
                go_to(conv, missing)
                return
            send_request(conv, ctx, t, out)
        case "change":
            fire(conv, "change", ctx)
        case "cancel":
            detour(conv, "ask_cancel", ctx)


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
    "confirm_stop": on_confirm_stop,
    "confirm_cancel": on_confirm_cancel,
    "consent": on_consent,
    "adviser": on_adviser,
    "danger": on_danger,
    "topic": on_topic,
    "description": _record_optional_text("description", "skip"),
    "name": _record_optional_text("name", "anonymous"),
    "contact_method": on_contact_method,
    "phone": _record_detail(parse_phone, "phone.invalid"),
    "email": _record_detail(parse_email, "email.invalid"),
    "contact_safe": _record_choice("contact_safe"),
    "reachable": on_reachable,
    "urgency": _record_choice("urgency"),
    "review": on_review,
    "change": on_change,
    "urgent_offer": on_urgent_offer,
    "too_long": on_too_long,
}
