"""Sending a request to the adviser, and what the person is told once it is sent."""

from __future__ import annotations

from typing import Any

from bot.flows.conversation import Conversation, Handoff, StepContext
from bot.flows.hours import describe_hours, describe_next, next_working_start
from bot.flows.summary import urgent
from bot.texts.catalog import Texts


def build_handoff(conv: Conversation, ctx: StepContext) -> Handoff:
    answers = dict(conv.answers)
    consent = answers.pop("consent")
    case_ref = ctx.new_case_ref()
    payload = {
        "format": 1,
        "case_ref": case_ref,
        "created_at": ctx.now.isoformat(),
        "channel": ctx.channel,
        "language": conv.lang,
        "urgent": urgent(answers),
        "answers": answers,
        "consent": consent,
    }
    return Handoff(case_ref=case_ref, adviser_id=answers["adviser"], payload=payload)


def _hours_parts(handoff: Handoff, ctx: StepContext, t: Texts, hours_key: str) -> list[str]:
    """When the adviser works, and when next if not now."""
    adviser = ctx.config.adviser(handoff.adviser_id)
    parts = [t(hours_key, adviser=adviser.name, hours=describe_hours(adviser, t))]
    start = next_working_start(ctx.now, adviser, ctx.config)
    if start is not None:
        when = describe_next(start, ctx.now, ctx.config, t)
        parts.append(t("sent.urgent_next", adviser=adviser.name, next=when))
    return parts


def _asked_for_soon(answers: dict[str, Any]) -> bool:
    """Whoever said they were in danger, had their request urgent at any moment, or
    asked for today, never reads a general "usually within days"."""
    return bool(answers.get("danger")) or "urgent" in answers or answers.get("urgency") == "today"


def _discretion(ctx: StepContext, t: Texts) -> list[str]:
    """Once, on a channel whose messages show on a lock screen: how to hide them."""
    key = f"sent.previews_{ctx.channel}"
    return [t(key)] if t.has(key) else []


def sent_text(handoff: Handoff, ctx: StepContext, t: Texts) -> str:
    """What happens next: for an urgent request, that the adviser is no emergency
    service and when they work; never a promise of contact within days to someone
    who asked for soon."""
    case_ref = handoff.case_ref
    answers = handoff.payload["answers"]
    if handoff.payload["urgent"]:
        parts = [
            t("sent.urgent", case_ref=case_ref),
            *_hours_parts(handoff, ctx, t, "sent.urgent_hours"),
            t("sent.urgent_safety"),
        ]
    elif _asked_for_soon(answers):
        parts = [
            t("sent.soon", case_ref=case_ref),
            *_hours_parts(handoff, ctx, t, "sent.soon_hours"),
            t("sent.soon_safety"),
        ]
    else:
        days = ctx.config.organisation.contact_within_working_days
        parts = [t("sent.text", case_ref=case_ref, days=days)]
    return "\n\n".join([*parts, *_discretion(ctx, t), t("sent.after")])
