"""The terminal channel: a person at a keyboard, or a script speaking JSON lines."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from bot.engine import Engine
from bot.messages import Inbound, InboundKind, Reply

CHANNEL = "terminal"


class JsonlInputError(ValueError):
    """A line of the machine interface is not a valid inbound message."""


def parse_jsonl_line(line: str, user: str, lang: str | None) -> Inbound:
    try:
        message: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise JsonlInputError(f"not valid JSON (column {exc.colno})") from exc
    if not isinstance(message, dict):
        raise JsonlInputError("expected a JSON object")
    keys = set(message) & {"text", "choice", "media"}
    if len(keys) != 1:
        raise JsonlInputError('expected exactly one of "text", "choice" or "media"')
    key = keys.pop()
    value = message[key]
    if not isinstance(value, str):
        raise JsonlInputError(f'"{key}" must be a string')
    if key == "media":
        return Inbound(CHANNEL, user, kind=InboundKind.UNSUPPORTED, language_hint=lang)
    if key == "choice":
        return Inbound(CHANNEL, user, choice=value, language_hint=lang)
    return Inbound(CHANNEL, user, text=value, language_hint=lang)


def _write_line(out: TextIO, value: dict[str, Any]) -> None:
    out.write(json.dumps(value, ensure_ascii=False) + "\n")


async def _read_line(stream: TextIO) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, stream.readline)


async def run_jsonl(
    engine: Engine,
    user: str,
    lang: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """One JSON object per line in; one per bot message out, then {"waiting": true}."""

    async def deliver(replies: Sequence[Reply]) -> None:
        for reply in replies:
            _write_line(
                stdout,
                {
                    "text": reply.text,
                    "choices": [{"id": c.id, "label": c.label} for c in reply.choices],
                },
            )

    while line := await _read_line(stdin):
        if line.strip():
            try:
                inbound = parse_jsonl_line(line, user, lang)
            except JsonlInputError as exc:
                _write_line(stdout, {"error": str(exc)})
            else:
                await engine.handle(inbound, deliver)
            _write_line(stdout, {"waiting": True})
            stdout.flush()


def render_reply(reply: Reply) -> str:
    lines = [reply.text]
    if reply.choices:
        lines.append("")
        lines += [
            f"  {number}. {choice.label}" for number, choice in enumerate(reply.choices, start=1)
        ]
    return "\n".join(lines)


async def run_interactive(
    engine: Engine,
    user: str,
    lang: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """A conversation at the keyboard: choices are typed as their number or label."""

    async def deliver(replies: Sequence[Reply]) -> None:
        for reply in replies:
            stdout.write("\n" + render_reply(reply) + "\n")
        stdout.flush()

    await engine.handle(
        Inbound(CHANNEL, user, kind=InboundKind.RESUME, language_hint=lang), deliver
    )
    while True:
        stdout.write("\n> ")
        stdout.flush()
        line = await _read_line(stdin)
        if not line:
            stdout.write("\n")
            return
        await engine.handle(
            Inbound(CHANNEL, user, text=line.rstrip("\n"), language_hint=lang), deliver
        )
