"""A handoff as a Matrix message: a plain body and HTML in which every value is escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from bot.config import Config
from bot.flows.summary import handoff_lines, handoff_text
from bot.messages import Choice
from bot.texts.catalog import Texts

# The quoted original that clients put above a reply ("> <@bot:x> ...").
_REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n")


def without_reply_fallback(text: str) -> str:
    return _REPLY_FALLBACK.sub("", text, count=1)


def _html_value(value: str) -> str:
    return html.escape(value, quote=True).replace("\n", "<br>")


def handoff_message(payload: dict[str, Any], t: Texts, config: Config) -> dict[str, Any]:
    """``m.text`` so that the adviser's client notifies (default rules mute m.notice)."""
    title = t("handoff.title_urgent") if payload["urgent"] else t("handoff.title")
    items = "".join(
        f"<li><strong>{_html_value(label)}</strong>: {_html_value(value)}</li>"
        for label, value in handoff_lines(payload, t, config)
    )
    return {
        "msgtype": "m.text",
        "body": handoff_text(payload, t, config),
        "format": "org.matrix.custom.html",
        "formatted_body": f"<p><strong>{_html_value(title)}</strong></p><ul>{items}</ul>",
    }


def thread_message(text: str, thread_root: str | None, notify: bool) -> dict[str, Any]:
    """A message in a case's thread (``m.thread`` on the handoff event), escaped; a
    client without threads shows it as a reply to the handoff."""
    content: dict[str, Any] = {
        "msgtype": "m.text" if notify else "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": _html_value(text),
    }
    if thread_root is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": thread_root},
        }
    return content


def notice(text: str) -> dict[str, Any]:
    return {"msgtype": "m.notice", "body": text}


def direct_message(text: str, choices: Sequence[Choice] = ()) -> dict[str, Any]:
    """A message to an employee: choices as numbered lines, everything escaped in HTML."""
    body = text
    formatted = f"<p>{_html_value(text)}</p>"
    if choices:
        numbered = "\n".join(f"{n}. {choice.label}" for n, choice in enumerate(choices, 1))
        body = f"{text}\n\n{numbered}"
        items = "".join(f"<li>{_html_value(choice.label)}</li>" for choice in choices)
        formatted += f"<ol>{items}</ol>"
    return {
        "msgtype": "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
    }
