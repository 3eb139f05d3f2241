"""A handoff as a Matrix message: a plain body and HTML in which every value is escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from bot.config import Config
from bot.flows.summary import handoff_lines, handoff_text
from bot.messages import Choice
from bot.texts import Texts


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
