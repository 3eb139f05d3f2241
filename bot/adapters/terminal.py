"""The terminal channel: a person at a keyboard, or a script speaking JSON lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from collections.abc import Sequence
from typing import Any, BinaryIO, TextIO

from bot.engine import Deliver, Engine
from bot.line.relay import RelayWorker
from bot.messages import Inbound, InboundKind, Reply
from bot.sinks.base import DeliveryDeferred

CHANNEL = "terminal"


class TerminalSender:
    """The line's relays for the person at this terminal, while the chat is open."""

    def __init__(self, user: str, deliver: Deliver, with_choices: bool) -> None:
        self._user = user
        self._deliver = deliver
        # Typed at the keyboard, a number picks from the open question, not from a
        # check-in: there the check-in's text says what to type instead.
        self._with_choices = with_choices

    async def send_to(self, address: str, replies: Sequence[Reply], txn_id: str) -> str:
        if address != self._user:
            raise DeliveryDeferred("person-not-at-this-terminal")
        await self._deliver(replies if self._with_choices else [Reply(r.text) for r in replies])
        return txn_id


def _serve_line(relay: RelayWorker | None, user: str, deliver: Deliver, with_choices: bool) -> None:
    if relay is not None:
        relay.serve(CHANNEL, TerminalSender(user, deliver, with_choices))


class JsonlInputError(ValueError):
    """A line of the machine interface is not a valid inbound message."""


def parse_jsonl_line(line: str, user: str, lang: str | None) -> Inbound:
    try:
        message: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise JsonlInputError(f"not valid JSON (column {exc.colno})") from exc
    except (ValueError, RecursionError) as exc:
        # Nested too deep for the parser, or a number too long to convert.
        raise JsonlInputError("not valid JSON for this interface (too deep or too long)") from exc
    if not isinstance(message, dict):
        raise JsonlInputError("expected a JSON object")
    question = message.get("question")
    if question is not None and not isinstance(question, str):
        raise JsonlInputError('"question" must be a string')
    keys = set(message) & {"text", "choice", "media"}
    if len(keys) != 1:
        raise JsonlInputError('expected exactly one of "text", "choice" or "media"')
    key = keys.pop()
    value = message[key]
    if not isinstance(value, str):
        raise JsonlInputError(f'"{key}" must be a string')
    for field, text in ((key, value), ("question", question or "")):
        if not _is_unicode(text):
            raise JsonlInputError(f'"{field}" holds a lone surrogate, which is not text')
    # The terminal's "address" is the person's name there: relays find them by it.
    if key == "media":
        return Inbound(
            CHANNEL, user, kind=InboundKind.UNSUPPORTED, language_hint=lang, reply_to=user
        )
    if key == "choice":
        return Inbound(
            CHANNEL, user, choice=value, question=question, language_hint=lang, reply_to=user
        )
    return Inbound(CHANNEL, user, text=value, language_hint=lang, reply_to=user)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _write_line(out: TextIO, value: dict[str, Any]) -> None:
    out.write(json.dumps(value, ensure_ascii=False) + "\n")


async def _read_line(stream: TextIO) -> str:
    """A line from ``stream`` without blocking the loop. The read runs in a daemon
    thread, so Ctrl-C ends the program at once instead of waiting for Enter."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if line.done():
            return
        if error is not None:
            line.set_exception(error)
        else:
            line.set_result(value or "")

    def read() -> None:
        try:
            value, error = stream.readline(), None
        except (OSError, ValueError) as exc:  # a closed stream: treated like its end
            value, error = None, exc
        # RuntimeError: the loop has closed, and nobody waits for this line any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=read, name="stdin", daemon=True).start()
    return await line


MAX_JSONL_LINE_BYTES = 1_000_000


def _read_bytes_line(stream: TextIO) -> str | JsonlInputError:
    """One line of a byte stream: its text, or what is wrong with it ("" at the end)."""
    raw: BinaryIO = stream.buffer
    data = raw.readline(MAX_JSONL_LINE_BYTES + 1)
    if len(data) > MAX_JSONL_LINE_BYTES and not data.endswith(b"\n"):
        while data and not data.endswith(b"\n"):  # the rest of the line goes unread
            data = raw.readline(MAX_JSONL_LINE_BYTES)
        return JsonlInputError(f"line longer than {MAX_JSONL_LINE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return JsonlInputError(f"not UTF-8 (byte {exc.start + 1} of the line)")


async def _read_jsonl_line(stream: TextIO) -> str | JsonlInputError:
    if getattr(stream, "buffer", None) is None:  # a text stream (as in tests): lines are text
        return await _read_line(stream)
    return await asyncio.get_running_loop().run_in_executor(None, _read_bytes_line, stream)


async def run_jsonl(
    engine: Engine,
    user: str,
    lang: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    relay: RelayWorker | None = None,
) -> None:
    """One JSON object per line in; one per bot message out, then {"waiting": true}.
    A message from the adviser on the line may come out at any time."""

    async def deliver(replies: Sequence[Reply]) -> None:
        for reply in replies:
            _write_line(
                stdout,
                {
                    "text": reply.text,
                    "choices": [{"id": c.id, "label": c.label} for c in reply.choices],
                    **({"question": reply.question} if reply.question else {}),
                },
            )
        stdout.flush()

    _serve_line(relay, user, deliver, with_choices=True)

    try:
        while line := await _read_jsonl_line(stdin):  # every line gets an answer
            try:
                if isinstance(line, JsonlInputError):
                    raise line
                if not line.strip():
                    raise JsonlInputError("an empty line")
                inbound = parse_jsonl_line(line, user, lang)
            except JsonlInputError as exc:
                _write_line(stdout, {"error": str(exc)})
            else:
                await engine.handle(inbound, deliver)
            _write_line(stdout, {"waiting": True})
            stdout.flush()
    except BrokenPipeError:
        # The reader went away. Every step was saved before its reply was written.
        raise OutputClosed from None


class OutputClosed(Exception):
    """The other end of the JSON lines' output closed it: the session ends quietly."""


def render_reply(reply: Reply) -> str:
    lines = [reply.text]
    if reply.choices:
        lines.append("")
        lines += [
            f"  {number}. {choice.label}" for number, choice in enumerate(reply.choices, start=1)
        ]
    return "\n".join(lines)


PROMPT = "\n> "


async def run_interactive(
    engine: Engine,
    user: str,
    lang: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    relay: RelayWorker | None = None,
) -> None:
    """A conversation at the keyboard: choices are typed as their number or label.
    Ctrl-D or Ctrl-C leaves at once, with a goodbye; the answers stay stored."""
    waiting = False  # the prompt is on screen: a message from the adviser shows it again

    async def deliver(replies: Sequence[Reply]) -> None:
        for reply in replies:
            stdout.write("\n" + render_reply(reply) + "\n")
        if waiting:
            stdout.write(PROMPT)
        stdout.flush()

    _serve_line(relay, user, deliver, with_choices=False)
    await engine.handle(
        Inbound(CHANNEL, user, kind=InboundKind.RESUME, language_hint=lang, reply_to=user),
        deliver,
    )
    goodbye = await engine.notice(CHANNEL, user, "terminal.goodbye", lang)
    stdout.write("\n" + await engine.notice(CHANNEL, user, "terminal.quit_hint", lang) + "\n")
    try:
        while True:
            stdout.write(PROMPT)
            stdout.flush()
            waiting = True
            line = await _read_line(stdin)
            waiting = False
            if not line:
                break
            await engine.handle(
                Inbound(CHANNEL, user, text=line.rstrip("\n"), language_hint=lang, reply_to=user),
                deliver,
            )
    finally:
        # Ctrl-C arrives here as a cancellation; Ctrl-D as the end of input.
        stdout.write("\n" + goodbye + "\n")
        stdout.flush()
