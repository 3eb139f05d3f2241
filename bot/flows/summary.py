"""Rendering the answers: for the person's review and for the adviser's handoff.

Pure: texts and config in, labelled lines out. Escaping for a markup format is
the job of whoever puts these lines into markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Config, Resource
from bot.flows.danger.tiers import DESCRIPTION_FLAG
from bot.texts.catalog import LANGUAGE_NAME_KEY, Texts

Line = tuple[str, str]


def _adviser_name(adviser_id: str, config: Config) -> str:
    for adviser in config.advisers:
        if adviser.id == adviser_id:
            return adviser.name
    return adviser_id


def _contact(answers: dict[str, Any], t: Texts, prefix: str) -> str:
    method = answers.get("contact_method")
    adviser = prefix == "handoff"
    if method is None:
        # Sent at once, before the contact questions: the thread is the way back.
        return t("handoff.contact_not_asked" if adviser else "review.value.missing")
    if method == "chat" and adviser:
        return t("handoff.contact_chat")  # "this chat" is the employee's, not the room
    label = t(f"contact.{method}")
    detail = answers.get("contact_detail")
    return f"{label}: {detail}" if detail else label


def _contact_safe(answers: dict[str, Any], t: Texts, prefix: str) -> list[Line]:
    """Whether a voicemail or an e-mail is safe, as its own line: for the person
    (their answer in words) or for the adviser (an instruction that cannot be misread)."""
    method = answers.get("contact_method")
    safe = answers.get("contact_safe")
    if method not in ("phone", "email") or safe not in ("message_ok", "no_message"):
        return []
    return [(t(f"{prefix}.label.safe_{method}"), t(f"{prefix}.safe_{method}_{safe}"))]


def urgent(answers: dict[str, Any]) -> bool:
    """Whether the request goes as urgent: the person's own choice, else their answer to
    "in danger" (a draft from before urgency was its own answer)."""
    return bool(answers.get("urgent", answers.get("danger")))


def _reachable(answers: dict[str, Any], t: Texts) -> str:
    reachable = answers.get("reachable")
    if not reachable:
        return t("review.value.missing")
    if "choice" in reachable:
        return t(f"reachable.{reachable['choice']}")
    return str(reachable["text"])


def _optional(answers: dict[str, Any], key: str, t: Texts, none_key: str) -> str:
    if key not in answers:
        return t("review.value.missing")
    value = answers[key]
    return t(none_key) if value is None else str(value)


def _choice(answers: dict[str, Any], key: str, t: Texts) -> str:
    value = answers.get(key)
    return t(f"{key}.{value}") if value is not None else t("review.value.missing")


def answer_lines(
    answers: dict[str, Any], t: Texts, config: Config, *, prefix: str = "review"
) -> list[Line]:
    """Every intake answer as (label, value), in the order the questions were asked;
    ``prefix`` "handoff" words the contact-safety answer as the adviser's instruction."""
    lines: list[Line] = []
    if len(config.advisers) > 1 or "adviser" in answers:
        adviser = answers.get("adviser")
        value = _adviser_name(adviser, config) if adviser else t("review.value.missing")
        lines.append((t("review.label.adviser"), value))
    danger = answers.get("danger")
    if danger is None:
        danger_value = t("review.value.missing")
    elif danger == "unsure":
        danger_value = t("danger.unsure")
    else:
        danger_value = t("danger.yes" if danger else "danger.no")
    lines.append((t("review.label.danger"), danger_value))
    if prefix == "review":  # the adviser reads it as the priority, at the top
        urgent_value = t("urgent.value_yes" if urgent(answers) else "urgent.value_no")
        lines.append((t("review.label.urgent"), urgent_value))
    lines += [
        (t("review.label.topic"), _choice(answers, "topic", t)),
        (
            t("review.label.description"),
            _optional(answers, "description", t, "review.value.no_description"),
        ),
        (t("review.label.name"), _optional(answers, "name", t, "review.value.anonymous")),
        (t("review.label.contact"), _contact(answers, t, prefix)),
        *_contact_safe(answers, t, prefix),
        (t("review.label.reachable"), _reachable(answers, t)),
        (t("review.label.urgency"), _choice(answers, "urgency", t)),
    ]
    return lines


def format_lines(lines: list[Line]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in lines)


def local_time(iso: str, timezone: str) -> str:
    moment = datetime.fromisoformat(iso)
    try:
        moment = moment.astimezone(ZoneInfo(timezone))
    except ZoneInfoNotFoundError:
        timezone = "UTC"
    return f"{moment:%Y-%m-%d %H:%M} ({timezone})"


def handoff_lines(payload: dict[str, Any], t: Texts, config: Config) -> list[Line]:
    """The adviser's view of a handoff: urgency first, then every answer and the record."""
    consent = payload["consent"]
    lines: list[Line] = [
        (
            t("handoff.label.priority"),
            t("handoff.urgent") if payload["urgent"] else t("handoff.not_urgent"),
        ),
        (t("handoff.label.case"), payload["case_ref"]),
    ]
    flag = payload["answers"].get(DESCRIPTION_FLAG)
    if flag in ("gentle", "strong") and payload["answers"].get("description"):
        lines.insert(1, (t("handoff.label.danger_heard"), t(f"handoff.danger_heard_{flag}")))
    lines += answer_lines(payload["answers"], t, config, prefix="handoff")
    lines += [
        (t("handoff.label.channel"), payload["channel"]),
        (t("handoff.label.language"), payload["language"]),
        (
            t("handoff.label.sent_at"),
            local_time(payload["created_at"], config.organisation.timezone),
        ),
        (
            t("handoff.label.consent"),
            t(
                "handoff.consent",
                at=local_time(consent["at"], config.organisation.timezone),
                version=consent["version"],
            ),
        ),
    ]
    return lines


def handoff_text(payload: dict[str, Any], t: Texts, config: Config) -> str:
    title = t("handoff.title_urgent") if payload["urgent"] else t("handoff.title")
    return f"{title}\n\n{format_lines(handoff_lines(payload, t, config))}"


def _resource_lines(t: Texts, config: Config, resources: Sequence[Resource]) -> list[str]:
    return [
        t(
            "emergency.line",
            name=r.name,
            description=r.describe(t.lang, config.bot.default_language),
        )
        for r in resources
    ]


def emergency_text(t: Texts, config: Config, category: str | None = None) -> str:
    """The emergency routes for right now, in the reader's language: for a kind of
    danger, only the routes that serve it (all of them where none is named)."""
    fitting = [
        route
        for route in config.emergency_routes
        if category is None or not route.danger or category in route.danger
    ]
    routes = fitting or config.emergency_routes
    return "\n".join([t("emergency.title"), *_resource_lines(t, config, routes)])


def referrals_text(t: Texts, config: Config) -> str:
    """The advice and reporting desks: not for danger, for what comes after."""
    return "\n".join(
        [t("emergency.referrals_title"), *_resource_lines(t, config, config.referral_resources)]
    )


def other_ways_text(t: Texts, config: Config) -> str:
    """The advisers' own phone and e-mail, for whoever wants no bot; where none are
    set, where such details are usually found."""
    lines = []
    for adviser in config.advisers:
        ways = [w for w in (adviser.phone, adviser.email) if w]
        if ways:
            lines.append(t("other_ways.line", name=adviser.name, ways=", ".join(ways)))
    first = t("other_ways.direct") + "\n" + "\n".join(lines) if lines else t("other_ways.unknown")
    return f"{first}\n\n{t('other_ways.elsewhere')}"


def mydata_text(
    answers: dict[str, Any],
    last_case: str | None,
    t: Texts,
    config: Config,
    line: str | None = None,
    channel: str = "",
) -> str:
    """Everything the bot holds about the person, readable (for /mydata). The web chat
    keeps the line's messages for the person, so it says so (``mydata.line_web``)."""

    def own(key: str) -> str:
        return f"{key}_{channel}" if t.has(f"{key}_{channel}") else key

    parts = [t("mydata.intro"), t("mydata.language", language=t(LANGUAGE_NAME_KEY))]
    consent = answers.get("consent")
    if consent:
        parts.append(
            t("mydata.consent", at=local_time(consent["at"], config.organisation.timezone))
        )
    if any(key != "consent" for key in answers):
        parts.append(f"{t('mydata.answers')}\n{format_lines(answer_lines(answers, t, config))}")
    else:
        parts.append(t("mydata.no_answers"))
    if last_case:
        parts.append(t("mydata.sent", case_ref=last_case))
    if line:
        closed_days = f"{config.retention.closed_case_days:g}"
        parts.append(t(own("mydata.line"), case_ref=line, closed_days=closed_days))
    parts += [t(own("mydata.also")), t("mydata.delete")]
    return "\n\n".join(parts)
