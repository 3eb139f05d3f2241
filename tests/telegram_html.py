"""Telegram's HTML, as strict and as lenient as Telegram (for the fake Bot API server).

From core.telegram.org/bots/api#formatting-options: only the tags listed there, with
their attributes; the nesting rules; only four named entities; and, as TDLib's parser
does, tag names in any case.
"""

from __future__ import annotations

import re

# Tags Telegram accepts with parse_mode HTML (core.telegram.org/bots/api#html-style),
# with the attributes each needs; tag names in any case, as TDLib lowercases them.
_FORMATTING = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "span"}
_HTML_TAGS = _FORMATTING | {"a", "code", "pre", "blockquote", "tg-emoji", "tg-time"}
_REQUIRED = {"a": "href", "tg-emoji": "emoji-id", "tg-time": "unix"}
# Telegram decodes only these named entities (and numeric ones); any other "&name"
# stays as it was typed.
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>", re.DOTALL)
_ATTRIBUTE = re.compile(r"""([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]+));")


class BadRequest(Exception):
    pass


class Forbidden(Exception):
    pass


class Conflict(Exception):
    pass


def _unparseable(why: str) -> BadRequest:
    return BadRequest(f"Bad Request: can't parse entities: {why}")


def _decode(data: str) -> str:
    """Telegram's entity decoding: numeric and the four named ones; the rest literal."""

    def one(match: re.Match[str]) -> str:
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            return _NAMED_ENTITIES.get(name, match.group(0))
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else ""

    return _ENTITY.sub(one, data)


def _check_start(tag: str, attributes: dict[str, str], open_tags: list[str]) -> None:
    if tag not in _HTML_TAGS:
        raise _unparseable(f'Unsupported start tag "{tag}"')
    if tag == "span" and attributes.get("class") != "tg-spoiler":
        raise _unparseable('Tag "span" must have class "tg-spoiler"')
    needed = _REQUIRED.get(tag)
    if needed is not None and not attributes.get(needed):
        raise _unparseable(f'Tag "{tag}" must have attribute "{needed}"')
    for outer in open_tags:
        # Nothing inside code or pre, except a code block's language: <pre><code>.
        if outer in ("code", "pre") and not (outer == "pre" and tag == "code"):
            raise _unparseable(f'Can\'t nest "{tag}" inside "{outer}"')
        if tag == "blockquote" and outer == "blockquote":
            raise _unparseable("Blockquote entities can't be nested")
        code_block = outer == "pre" and tag == "code"
        if tag not in _FORMATTING and outer not in (*_FORMATTING, "blockquote") and not code_block:
            raise _unparseable(f'Can\'t nest "{tag}" inside "{outer}"')


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as Telegram shows it; raises BadRequest where Telegram refuses it."""
    if parse_mode != "HTML":
        return text
    shown: list[str] = []
    open_tags: list[str] = []
    position = 0
    while (at := text.find("<", position)) >= 0:
        shown.append(_decode(text[position:at]))
        match = _TAG.match(text, at)
        if match is None:
            closing = text.find(">", at)
            if closing < 0:
                raise _unparseable(f"Unclosed start tag at byte offset {at}")
            raise _unparseable(f"Unsupported start tag at byte offset {at}")
        closing_tag, name, raw_attributes, _self_closing = match.groups()
        tag = name.lower()
        if closing_tag:
            if not open_tags or open_tags[-1] != tag:
                raise _unparseable(f'Unmatched end tag at byte offset {at}, expected "{tag}"')
            open_tags.pop()
        else:
            attributes = {
                key.lower(): _decode(next((v for v in values if v), ""))
                for key, *values in _ATTRIBUTE.findall(raw_attributes or "")
            }
            _check_start(tag, attributes, open_tags)
            open_tags.append(tag)
        position = match.end()
    shown.append(_decode(text[position:]))
    if open_tags:
        raise _unparseable(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(shown)
