"""Hostile lines for `vertrouwd chat --jsonl`: random and structured, from a seed.

Each is bytes without a newline. Some are valid messages with nasty content, most
are broken in one of the ways a careless or malicious script breaks them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e\u2066reversed\u2069",
    "\ufeff",
    "\u0000\u0001\u001f\u007f",
    "😀" * 300,
    "e\u0301" * 50,
    "x" * 10_000,
    "/start",
    "/delete",
    "/mydata",
    "/stop",
    "/language",
    "/cancel",
    "/menu",
    "/help",
    "/unknowncommand",
    "/start@SomeBot",
    "<script>alert(1)</script>",
    "**bold** _it_ `code` [link](http://x)",
    "\\",
    '"',
    "\r\n",
    "\u2028\u2029",
    "1",
    "99",
    "-1",
    "send",
    "yes",
]
FIELDS = ["text", "choice", "media", "question"]


def _deep(rng: random.Random) -> str:
    depth = rng.choice([200, 1_000, 5_000, 100_000])
    open_, close = rng.choice([("[", "]"), ('{"a":', "}")])
    inner = json.dumps({"text": "deep"})
    return open_ * depth + inner + close * depth


def _huge_number(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([4_301, 5_000, 20_000])))
    number = "1" + digits
    return rng.choice(['{"text": N}', '{"choice": "a", "n": N}', "N", "[N]"]).replace("N", number)


def _wrong_types(rng: random.Random) -> str:
    value = rng.choice([None, 1, 1.5, True, [], {}, ["a"], {"a": 1}, 1e308, -0.0])
    return json.dumps({rng.choice(FIELDS): value})


def _several_fields(rng: random.Random) -> str:
    keys = rng.sample(FIELDS, rng.randint(0, len(FIELDS)))
    return json.dumps({key: rng.choice(NASTY_TEXT) for key in keys})


def _valid_nasty(rng: random.Random) -> str:
    key = rng.choice(["text", "text", "choice"])
    message = {key: rng.choice(NASTY_TEXT)}
    if key == "choice" and rng.random() < 0.5:
        message["question"] = rng.choice(["1", "2", "99", "", "x" * 500])
    return json.dumps(message, ensure_ascii=rng.random() < 0.5)


def _lone_surrogate(rng: random.Random) -> str:
    escape = rng.choice(["\\ud800", "\\udfff", "\\ud83d", "\\udc00\\ud800"])
    field = rng.choice(["text", "choice"])
    return f'{{"{field}": "a{escape}b"}}'


def _not_an_object(rng: random.Random) -> str:
    return rng.choice(["null", "true", "1", '"text"', "[]", '[{"text": "a"}]', "{}", "NaN"])


def _broken_json(rng: random.Random) -> str:
    good = json.dumps({"text": rng.choice(NASTY_TEXT)})
    cut = rng.randint(0, max(0, len(good) - 1))
    return rng.choice([good[:cut], good + "}", good[:cut] + "\x01" + good[cut:], "{'text': 'a'}"])


def _random_bytes(rng: random.Random) -> bytes:
    data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 80)))
    return data.replace(b"\n", b"")


def _invalid_utf8(rng: random.Random) -> bytes:
    bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
    return b'{"text": "a' + bad + b'b"}'


_KINDS: list[Callable[[random.Random], str | bytes]] = [
    _deep,
    _huge_number,
    _wrong_types,
    _several_fields,
    _valid_nasty,
    _valid_nasty,
    _lone_surrogate,
    _not_an_object,
    _broken_json,
    _random_bytes,
    _invalid_utf8,
]


def hostile_lines(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(count):
        line = rng.choice(_KINDS)(rng)
        data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
        yield data.replace(b"\n", b" ")
