"""Sending a request to the adviser, and what the person is told once it is sent."""

from __future__ import annotations

from bot.flows.conversation import Conversation, Handoff, StepContext
from bot.flows.hours import describe_hours, describe_next, next_working_start
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
        "urgent": bool(answers.get("danger")),
        "answers": answers,
        "consent": consent,
    }
    return Handoff(case_ref=case_ref, adviser_id=answers["adviser"], payload=payload)


def sent_text(handoff: Handoff, ctx: StepContext, t: Texts) -> str:
    """What happens next: for an urgent request, that the adviser is no emergency
    service and when they work; never a promise of contact within days."""
    case_ref = handoff.case_ref
    if not handoff.payload["urgent"]:
        first = t(
            "sent.text", case_ref=case_ref, days=ctx.config.organisation.contact_within_working_days
        )
        return f"{first}\n\n{t('sent.after')}"
    adviser = ctx.config.adviser(handoff.adviser_id)
    parts = [
        t("sent.urgent", case_ref=case_ref),
        t("sent.urgent_hours", adviser=adviser.name, hours=describe_hours(adviser, t)),
    ]
    start = next_working_start(ctx.now, adviser, ctx.config)
    if start is not None:
        parts.append(t("sent.urgent_next", adviser=adviser.name, next=describe_next(start, t)))
    parts += [t("sent.urgent_safety"), t("sent.after")]
    return "\n\n".join(parts)
