"""The question each state asks, rendered in the conversation's language."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from bot.config import Adviser, Config
from bot.flows.answers import EMAIL_MAX_CHARS, PHONE_MAX_CHARS
from bot.flows.conversation import Conversation, StepContext
from bot.flows.machine import CHANGEABLE
from bot.flows.summary import answer_lines, format_lines
from bot.messages import Choice, Reply
from bot.texts import LANGUAGE_NAME_KEY, Texts

Question = Callable[[Conversation, StepContext, Texts], Reply]


def _choices(t: Texts, prefix: str, ids: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(i, t(f"{prefix}.{i}")) for i in ids)


def _intake_choice(conv: Conversation, t: Texts) -> Choice:
    if conv.has_draft():
        return Choice("continue", t("menu.continue"))
    return Choice("intake", t("menu.intake"))


def _menu(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    rest = _choices(t, "menu", ("help_now", "about", "language", "delete"))
    prompt = t("menu.line_open", case_ref=ctx.line) if ctx.line else t("menu.prompt")
    return Reply(prompt, (_intake_choice(conv, t), *rest))


def _about(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    topics = _choices(t, "about.choice", ("role", "confidentiality", "faq"))
    back = Choice("menu", t("about.choice.menu"))
    return Reply(t("about.prompt"), (*topics, _intake_choice(conv, t), back))


def _language(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    catalog = ctx.catalog
    choices = tuple(
        Choice(lang, catalog.texts(lang)(LANGUAGE_NAME_KEY)) for lang in catalog.languages()
    )
    return Reply(t("language.prompt"), choices)


def _confirm_delete(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("delete.confirm"), _choices(t, "delete", ("yes", "no")))


def consent_text(t: Texts, config: Config) -> str:
    return t(
        "consent.text",
        organisation=config.organisation_name,
        draft_hours=f"{config.draft_hours:g}",
        closed_days=f"{config.retention.closed_case_days:g}",
    )


def consent_version(t: Texts, config: Config) -> str:
    """Names exactly the consent text that was shown: its language and a digest."""
    digest = hashlib.sha256(consent_text(t, config).encode()).hexdigest()[:12]
    return f"{t.lang}-{digest}"


def _consent(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(consent_text(t, ctx.config), _choices(t, "consent", ("agree", "disagree")))


def adviser_profile(adviser: Adviser, lang: str, default_language: str) -> str:
    return adviser.profile.get(lang) or adviser.profile.get(default_language) or ""


def _adviser(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    config = ctx.config
    lines = [t("adviser.prompt")]
    for adviser in config.advisers:
        profile = adviser_profile(adviser, conv.lang, config.default_language)
        lines.append(
            t("adviser.profile", name=adviser.name, profile=profile) if profile else adviser.name
        )
    choices = tuple(Choice(a.id, a.name) for a in config.advisers)
    return Reply("\n".join(lines), choices)


def _danger(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("danger.prompt"), _choices(t, "danger", ("yes", "no")))


def _topic(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("topic.prompt"), _choices(t, "topic", ctx.config.intake.topics))


def _description(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    limit = ctx.config.intake.description_max_chars
    return Reply(t("description.prompt", max=limit), _choices(t, "description", ("skip",)))


def _name(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("name.prompt"), _choices(t, "name", ("anonymous",)))


def _contact_method(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    methods = ("chat", "phone", "email", "in_person")
    return Reply(t("contact.prompt"), _choices(t, "contact", methods))


def _phone(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("phone.prompt"), (Choice("other_way", t("contact.other_way")),))


def _email(conv: Conversation, ctx: StepContext, t: Texts) -> Reply:
    return Reply(t("email.prompt"), (Choice("other_way", t("contact.other_way")),))


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
    "consent": _consent,
    "adviser": _adviser,
    "danger": _danger,
    "topic": _topic,
    "description": _description,
    "name": _name,
    "contact_method": _contact_method,
    "phone": _phone,
    "email": _email,
    "reachable": _reachable,
    "urgency": _urgency,
    "review": _review,
    "change": _change,
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


def ask(conv: Conversation, ctx: StepContext) -> Reply:
    t = ctx.catalog.texts(conv.lang)
    return QUESTIONS[conv.state](conv, ctx, t)
