"""One small handler per state: it reads the answer, records it and moves the machine."""

from __future__ import annotations

from bot.flows.contact import on_contact_method, on_contact_safe, on_email, on_phone, on_reachable
from bot.flows.conversation import Conversation, Handoff, LineAction, StepContext
from bot.flows.machine import CHANGEABLE, fire, go_to
from bot.flows.outcome import Answer, Handler, Outcome
from bot.flows.questions import consent_details, consent_parts, consent_version
from bot.flows.sending import build_handoff, sent_text
from bot.flows.summary import other_ways_text, referrals_text, urgent
from bot.texts.catalog import Texts


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
        case "stop":
            detour(conv, "ask_stop", ctx)


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
        # The chat itself stays in the person's app: where there is one, say how to remove it.
        channel_done = f"delete.done_{ctx.channel}"
        out.say(t(channel_done if t.has(channel_done) else "delete.done"))
    else:
        out.say(t("delete.kept"))
        end_detour(conv)


def on_consent(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    if answer.choice == "more":
        for part in consent_details(t, ctx):
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
    was_in_danger = conv.answers.get("danger") in (True, "unsure")
    # Not sure is an answer of its own, met as "yes" is: the routes and the urgent offer.
    conv.answers["danger"] = "unsure" if answer.choice == "unsure" else answer.choice == "yes"
    if not conv.answers["danger"]:
        if conv.editing and was_in_danger and urgent(conv.answers):
            # Never drop the urgent mark without a word: the person chooses.
            out.say(t("urgent.still"))
            go_to(conv, "urgent")
            return
        fire(conv, "next", ctx)
        return
    conv.answers["urgent"] = True
    out.show_emergency(t, ctx.config)
    if conv.editing:
        out.say(t("danger.marked_review"))
        fire(conv, "next", ctx)
        return
    out.say(t("danger.marked"))
    out.comforted = True
    fire(conv, "next", ctx)
    detour(conv, "offer_urgent", ctx)


def on_urgent(conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome) -> None:
    """Asked from the review: whether the request goes as urgent."""
    conv.answers["urgent"] = answer.choice == "yes"
    out.say(t("urgent.kept" if conv.answers["urgent"] else "urgent.removed"))
    fire(conv, "next", ctx)


def on_urgent_offer(
    conv: Conversation, answer: Answer, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    """After danger was heard: send what there is now, mark it urgent, or go on.
    Marking urgent leaves their own answer to "in danger" as it was."""
    if answer.choice in ("send_now", "mark"):
        conv.answers["urgent"] = True
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
    "phone": on_phone,
    "email": on_email,
    "contact_safe": on_contact_safe,
    "reachable": on_reachable,
    "urgency": _record_choice("urgency"),
    "review": on_review,
    "change": on_change,
    "urgent_offer": on_urgent_offer,
    "urgent": on_urgent,
    "too_long": on_too_long,
}
