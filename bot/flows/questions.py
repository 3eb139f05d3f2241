"""The question each state asks, rendered in the conversation's language."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from bot.config import Adviser, Config
from bot.flows.answers import EMAIL_MAX_CHARS, PHONE_MAX_CHARS
from bot.flows.conversation import Conversation, StepContext
from bot.flows.machine import ASKING_STATES, CHANGEABLE, FOLLOW_UPS, NUMBERED_QUESTIONS
from bot.flows.summary import answer_lines, format_lines, urgent
from bot.messages import Choice, Progress, Reply
from bot.texts.catalog import LANGUAGE_NAME_KEY, Texts

Question = Callable[[Conversation, StepContext, Texts], Reply]


def _choices(t: Texts, prefix: str, ids: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(i, t(f"{prefix}.{i}")) for i in ids)


def _intake_choice(conv: Conversation, ctx: StepContext, t: Texts) -> Choice:
    if conv.has_draft():
        return Choice("continue", t("menu.continue"))
    # With a chat already open, starting again is a second, separate request.
    return Choice("intake", t("menu.new_request" if ctx.line else "menu.intake"))


def _menu(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    rest = _choices(t, "menu", ("help_now", "about", "language", "delete"))
    if ctx.line:  # stopping is a button too, not only a typed word
        rest = (*rest[:-1], Choice("stop", t("menu.stop")), rest[-1])
    prompt = t("menu.line_open", case_ref=ctx.line) if ctx.line else t("menu.prompt")
    return Reply(prompt, (_intake_choice(conv, ctx, t), *rest))


def _about(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    topics = _choices(t, "about.choice", ("role", "confidentiality", "faq", "other_ways"))
    back = Choice("menu", t("about.choice.menu"))
    return Reply(t("about.prompt"), (*topics, _intake_choice(conv, ctx, t), back))


def _language(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    catalog = ctx.catalog
    choices = tuple(
        Choice(lang, catalog.texts(lang)(LANGUAGE_NAME_KEY)) for lang in catalog.languages()
    )
    return Reply(t("language.prompt"), choices)


def _confirm_delete(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    # Only someone whose request reached an adviser hears that the adviser is told.
    sent = ctx.line or conv.last_case
    text = t("delete.confirm")
    if sent:
        # With the chat open, the way to ask the adviser to delete too is right here.
        key = "delete.confirm_sent_line" if ctx.line else "delete.confirm_sent"
        text = f"{text}\n\n{t(key, case_ref=sent)}"
    return Reply(text, _choices(t, "delete", ("yes", "no")))


def _confirm_stop(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("stop.confirm", case_ref=ctx.line or ""), _choices(t, "stop", ("yes", "no")))


def _confirm_cancel(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    key = _channel_text(t, ctx, "cancel.confirm") or "cancel.confirm"
    text = t(key, hours=f"{ctx.config.retention.draft_hours:g}")
    return Reply(text, _choices(t, "cancel", ("yes", "no")))


def _consent_values(ctx: StepContext, t: Texts) -> dict[str, str]:
    config = ctx.config
    contact = config.organisation.privacy_contact
    return {
        "organisation": config.organisation.name,
        "draft_hours": f"{config.retention.draft_hours:g}",
        "closed_days": f"{config.retention.closed_case_days:g}",
        "adviser": config.advisers[0].name,
        "privacy": t("consent.privacy_contact", contact=contact)
        if contact
        else t("consent.privacy_unknown", organisation=config.organisation.name),
    }


def _channel_text(t: Texts, ctx: StepContext, key: str) -> str | None:
    """The channel's own variant of a text (``key_web``), else the general one; a key
    that exists only per channel (``consent.carrier_telegram``) gives None elsewhere."""
    own = f"{key}_{ctx.channel}"
    if t.has(own):
        return own
    return key if t.has(key) else None


def consent_parts(t: Texts, ctx: StepContext) -> list[str]:
    """The consent in short (what, why, who, how long, the way out, that no is fine),
    as short messages; the question follows on its own, the details behind "read more"."""
    values = _consent_values(ctx, t)
    one = len(ctx.config.advisers) == 1
    what = "consent.what_one" if one else "consent.what_several"
    who = "consent.who_one" if one else "consent.who_several"
    second = [t(who, **values), t(_channel_text(t, ctx, "consent.keep") or "", **values)]
    carrier = _channel_text(t, ctx, "consent.carrier")
    if carrier is not None:
        second.append(t(carrier, **values))
    second += [t("consent.withdraw"), t("consent.free")]
    first = [t("consent.intro"), t(what, **values), t("consent.special")]
    speaks = speaks_text(ctx.config.advisers[0], t.lang, t) if one else None
    if speaks is not None:
        first.append(speaks)  # before anything is asked: there is nobody else to choose
    return [
        "\n\n".join(first),
        "\n\n".join(second),
    ]


def consent_details(t: Texts, ctx: StepContext) -> list[str]:
    """What "read more" shows: who is responsible and how to reach them, all that is kept
    and how long, the limits of secrecy, and where to complain."""
    values = _consent_values(ctx, t)
    first = [
        t("consent.more_controller", **values),
        t("consent.more_special"),
        t(_channel_text(t, ctx, "consent.more_keep") or "", **values),
    ]
    return [
        "\n\n".join(first),
        "\n\n".join(
            t(key, **values)
            for key in (
                "consent.more_secrecy",
                "consent.more_count",
                "consent.more_withdraw",
                "consent.more_complain",
            )
        ),
    ]


def consent_version(t: Texts, ctx: StepContext) -> str:
    """Names exactly the consent text that was shown: its language and a digest (the
    short text, the question and the details behind "read more")."""
    shown = "\n\n".join((*consent_parts(t, ctx), t("consent.prompt"), *consent_details(t, ctx)))
    digest = hashlib.sha256(shown.encode()).hexdigest()[:12]
    return f"{t.lang}-{digest}"


def _consent(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("consent.prompt"), _choices(t, "consent", CONSENT_CHOICES))


CONSENT_CHOICES = ("agree", "disagree", "more")


def adviser_profile(adviser: Adviser, lang: str, default_language: str) -> str:
    return adviser.profile.get(lang) or adviser.profile.get(default_language) or ""


def speaks_text(adviser: Adviser, lang: str, t: Texts) -> str | None:
    """Which languages the adviser speaks, for someone who chats in one they may not."""
    if lang in adviser.speaks:
        return None
    names = [
        t(f"language.name_{code}") if t.has(f"language.name_{code}") else code
        for code in adviser.speaks
    ]
    listed = (
        names[0]
        if len(names) == 1
        else t("weekday.list", first=", ".join(names[:-1]), last=names[-1])
    )
    return t("adviser.speaks", name=adviser.name, languages=listed)


def _adviser(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    config = ctx.config
    lines = [t("adviser.prompt")]
    for adviser in config.advisers:
        profile = adviser_profile(adviser, conv.lang, config.bot.default_language)
        lines.append(
            t("adviser.profile", name=adviser.name, profile=profile) if profile else adviser.name
        )
        speaks = speaks_text(adviser, conv.lang, t)
        if speaks is not None:
            lines.append(speaks)
    choices = tuple(Choice(a.id, a.name) for a in config.advisers)
    return Reply("\n".join(lines), choices)


def _danger(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("danger.prompt"), _choices(t, "danger", ("yes", "no", "unsure")))


def _topic(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("topic.prompt"), _choices(t, "topic", ctx.config.intake.topics))


def _description(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    limit = ctx.config.intake.description_max_chars
    offered = ("use_told", "skip") if ctx.told else ("skip",)  # what they told at the menu
    return Reply(t("description.prompt", max=limit), _choices(t, "description", offered))


def _name(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("name.prompt"), _choices(t, "name", ("anonymous",)))


def _contact_method(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    methods = ("chat", "phone", "email", "in_person")
    return Reply(t("contact.prompt"), _choices(t, "contact", methods))


def _phone(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("phone.prompt"), (Choice("other_way", t("contact.other_way")),))


def _email(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("email.prompt"), (Choice("other_way", t("contact.other_way")),))


def _contact_safe(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    method = conv.answers.get("contact_method")
    key = "contact_safe.prompt_phone" if method == "phone" else "contact_safe.prompt_email"
    return Reply(t(key), _choices(t, "contact_safe", CONTACT_SAFE_CHOICES))


def _urgent_offer(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    if urgent(conv.answers):
        return Reply(t("urgent.prompt_marked"), _choices(t, "urgent", ("send_now", "go_on")))
    return Reply(t("urgent.prompt"), _choices(t, "urgent", ("send_now", "mark", "not_now")))


def _urgent(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("urgent.confirm_prompt"), _choices(t, "urgent", ("yes", "no")))


def _too_long(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    limit = ctx.config.intake.description_max_chars
    length = conv.pending_length or len(conv.pending_text or "")
    text = t("too_long.prompt", length=length, max=limit)
    return Reply(
        text,
        (Choice("keep", t("too_long.keep", max=limit)), Choice("shorten", t("too_long.shorten"))),
    )


CONTACT_SAFE_CHOICES = ("message_ok", "no_message")
REACHABLE_CHOICES = ("mornings", "afternoons", "evenings", "anytime")
URGENCY_CHOICES = ("today", "this_week", "no_rush")


def _reachable(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("reachable.prompt"), _choices(t, "reachable", REACHABLE_CHOICES))


def _urgency(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("urgency.prompt"), _choices(t, "urgency", URGENCY_CHOICES))


def _review(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    summary = format_lines(answer_lines(conv.answers, t, ctx.config))
    text = f"{t('review.intro')}\n\n{summary}"
    return Reply(text, _choices(t, "review", ("send", "change", "cancel")))


def changeable_fields(config: Config) -> tuple[str, ...]:
    fields = tuple(CHANGEABLE)
    return fields if len(config.advisers) > 1 else tuple(f for f in fields if f != "adviser")


def _change(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    fields = _choices(t, "review.label", changeable_fields(ctx.config))
    return Reply(t("change.prompt"), (*fields, Choice("back", t("change.back"))))


QUESTIONS: dict[str, Question] = {
    "menu": _menu,
    "about": _about,
    "language": _language,
    "confirm_delete": _confirm_delete,
    "confirm_stop": _confirm_stop,
    "confirm_cancel": _confirm_cancel,
    "consent": _consent,
    "adviser": _adviser,
    "danger": _danger,
    "topic": _topic,
    "description": _description,
    "name": _name,
    "contact_method": _contact_method,
    "phone": _phone,
    "email": _email,
    "contact_safe": _contact_safe,
    "reachable": _reachable,
    "urgency": _urgency,
    "review": _review,
    "change": _change,
    "urgent_offer": _urgent_offer,
    "urgent": _urgent,
    "too_long": _too_long,
}


def free_text_limit(state: str, config: Config) -> int | None:
    """How long a typed answer may be where free text is accepted; None where it is not."""
    limits = {
        "description": config.intake.description_max_chars,
        "name": config.intake.name_max_chars,
        "phone": PHONE_MAX_CHARS,
        "email": EMAIL_MAX_CHARS,
        "reachable": config.intake.reachable_max_chars,
    }
    return limits.get(state)


def progress(conv: Conversation, ctx: StepContext) -> Progress | None:
    """Which of the intake's questions this is, on this person's path (None outside the
    numbered questions, and while one answer is changed from the review)."""
    numbered = FOLLOW_UPS.get(conv.state, conv.state)
    if conv.editing or numbered not in NUMBERED_QUESTIONS:
        return None
    several = len(ctx.config.advisers) > 1
    path = [q for q in NUMBERED_QUESTIONS if several or q != "adviser"]
    if numbered not in path:
        return None
    return Progress(path.index(numbered) + 1, len(path), follow_up=numbered != conv.state)


def ask(conv: Conversation, ctx: StepContext) -> Reply:
    t = ctx.catalog.texts(conv.lang)
    question = QUESTIONS[conv.state](conv, ctx, t)
    if conv.state in ASKING_STATES:
        # A way out at every step: stop, pause (how long a draft waits) or erase.
        key = _channel_text(t, ctx, "intake.way_out") or "intake.way_out"
        way_out = t(key, hours=f"{ctx.config.retention.draft_hours:g}")
        question = replace(question, text=f"{question.text}\n\n{way_out}")
    return replace(question, progress=progress(conv, ctx))
