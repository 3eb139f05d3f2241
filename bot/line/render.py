"""What each relay says, in the reader's language. Pure: no I/O."""

from __future__ import annotations

from bot.config import Config, ConfigError
from bot.flows.conversation import AFTERCARE_QUESTION
from bot.messages import Choice, Reply
from bot.sinks.base import ThreadText
from bot.store.line_records import PendingRelay
from bot.texts.catalog import Texts


def adviser_name(config: Config, adviser_id: str) -> str:
    try:
        return config.adviser(adviser_id).name
    except ConfigError:
        return adviser_id


def for_adviser(relay: PendingRelay, t: Texts) -> ThreadText:
    """A relay into the case's thread: the employee is named only by case and pseudonym."""
    if relay.kind == "message":
        pseudonym = relay.contact.pseudonym if relay.contact else None
        text = t(
            "thread.from_employee",
            case_ref=relay.case_ref,
            pseudonym=pseudonym or t("review.value.anonymous"),
            text=relay.text or "",
        )
        if relay.values.get("urgent"):
            text = f"{t('thread.urgent', case_ref=relay.case_ref)}\n{text}"
        return ThreadText(text, notify=True)
    return ThreadText(
        t(f"thread.{relay.kind}", case_ref=relay.case_ref, **relay.values),
        notify=relay.kind in ("talk_again", "reply_reminder", "ack_reminder", "feedback_reminder"),
    )


def for_employee(relay: PendingRelay, t: Texts, config: Config) -> list[Reply]:
    """A relay to the employee on their channel, marked as coming from their adviser."""
    name = adviser_name(config, relay.adviser_id)
    match relay.kind:
        case "message":
            text = t(
                "line.from_adviser", adviser=name, case_ref=relay.case_ref, text=relay.text or ""
            )
            return [Reply(text)]
        case "checkin":
            choices = (
                Choice("talk", t("aftercare.talk")),
                Choice("open", t("aftercare.open")),
                Choice("close", t("aftercare.close")),
            )
            text = t("aftercare.checkin", adviser=name, case_ref=relay.case_ref)
            return [Reply(text, choices, question=AFTERCARE_QUESTION)]
        case _:
            idle = f"{config.retention.idle_line_days:g}"  # said by line.closed_idle
            text = t(f"line.{relay.kind}", adviser=name, case_ref=relay.case_ref, days=idle)
            if relay.kind == "closed_by_adviser":
                text += _direct_ways(config, relay.adviser_id, t)
            return [Reply(text)]


def _direct_ways(config: Config, adviser_id: str, t: Texts) -> str:
    """The adviser's own phone or e-mail, where set: the way back once a chat is closed."""
    try:
        adviser = config.adviser(adviser_id)
    except ConfigError:
        return ""
    ways = [w for w in (adviser.phone, adviser.email) if w]
    if not ways:
        return ""
    return " " + t("line.direct", adviser=adviser.name, ways=", ".join(ways))
