"""Turning the core's replies into platform messages: joined, split, never cut mid-word."""

from __future__ import annotations

from dataclasses import dataclass

from bot.messages import Reply

PARAGRAPH = "\n\n"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` units, cut at a paragraph, line or space where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while utf16_length(rest) > limit:
        window = rest[:limit]
        while utf16_length(window) > limit:  # characters outside the BMP count twice
            window = window[:-1]
        cut = max(window.rfind(PARAGRAPH), window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = len(window)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


@dataclass(frozen=True)
class Outgoing:
    """One platform message: plain text (escaped by the adapter) and an optional question."""

    text: str
    question: Reply | None = None  # the reply whose choices go under this message


def compose(replies: tuple[Reply, ...] | list[Reply], limit: int) -> list[Outgoing]:
    """Replies joined into as few messages as fit; a question's choices on its last piece."""
    messages: list[Outgoing] = []
    pending: list[str] = []

    def flush(question: Reply | None = None) -> None:
        if pending:
            messages.append(Outgoing(PARAGRAPH.join(pending), question))
            pending.clear()

    for reply in replies:
        for piece in split_text(reply.text, limit):
            if pending and utf16_length(PARAGRAPH.join([*pending, piece])) > limit:
                flush()
            pending.append(piece)
        if reply.choices:
            flush(reply)
    flush()
    return messages
