"""A handoff as a Matrix message: a plain body and HTML in which every value is escaped."""

from __future__ import annotations

import html
from typing import Any

from bot.config import Config
from bot.flows.summary import handoff_lines, handoff_text
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
