"""One line naming the setting, for whatever the schema refused.

msgspec says what is wrong and where (``$.advisers[0].id``); this turns that into the
setting's name as the admin writes it, the value they gave, and what it must be:
bounds, choices and descriptions are read from the schema itself.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import msgspec.inspect as mi

from bot.config.schema import schema_at

_WHERE = re.compile(r" - at `\$((?:\.[A-Za-z0-9_]+|\[\d+\])*)`$")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_KINDS = {
    "int": "a whole number",
    "float": "a number",
    "str": "text in quotes",
    "bool": "true or false",
    "array": "a list",
    "object": "a table",
    "Path": "a path in quotes",
}
_BOUND = re.compile(r"^Expected `(int|float)` (>=|>|<=|<) (\S+)$")
_LENGTH = re.compile(r"^Expected `(array|object|str)` of length (>=|<=) (\d+)$")


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def _name(steps: list[str | int]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else step
    return text


def _value(raw: Any, steps: list[str | int]) -> Any:
    for step in steps:
        try:
            raw = raw[step]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _unknown(schema: type, steps: list[str | int], key: str) -> str:
    import difflib  # only when a key is wrong: not at every start

    table, _ = schema_at(schema, steps)
    known = [f.encode_name for f in table.fields] if isinstance(table, mi.StructType) else []
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}?" if close else "see config.example.toml"
    return f"{_name([*steps, key])}: unknown setting ({hint})"


def describe(error: msgspec.ValidationError, raw: dict[str, Any], schema: type) -> str:
    """The refused setting, in one line: its name, what it must be, what it was."""
    text = str(error)
    match = _WHERE.search(text)
    steps = _steps(match.group(1)) if match else []
    problem = text[: match.start()] if match else text
    if problem.startswith("Object contains unknown field"):
        return _unknown(schema, steps, problem.split("`")[1])
    if problem.startswith("Object missing required field"):
        return f"{_name([*steps, problem.split('`')[1]])}: must be set"
    where = _name(steps) or "config file"
    value = _value(raw, steps)
    kind, description = schema_at(schema, steps)
    if bound := _BOUND.match(problem):
        return _bound(where, value, bound.group(2), bound.group(3))
    if isinstance(kind, mi.LiteralType) and not description:
        choices = ", ".join(str(v) for v in kind.values)
        return f"{where}: must be one of {choices}, got {value!r}"
    if _LENGTH.match(problem) and description:
        return f"{where}: {description} is needed"
    if problem.startswith("Invalid RFC3339 encoded date"):
        return f"{where}: {value!r} is not a date (YYYY-MM-DD)"
    if description:
        return f"{where}: must be {description}, got {value!r}"
    if found := re.match(r"^Expected `(\w+)`, got `(\w+)`$", problem):
        return f"{where}: must be {_KINDS.get(found.group(1), found.group(1))}, got {value!r}"
    if length := _LENGTH.match(problem):
        return f"{where}: must have {'at least' if length.group(2) == '>=' else 'at most'}" + (
            f" {length.group(3)} entries"
        )
    return f"{where}: {problem}"


def _bound(where: str, value: Any, sign: str, limit: str) -> str:
    if sign in ("<=", "<"):
        return f"{where}: {value!r} is too large (at most {float(limit):g})"
    if sign == ">" and float(limit) == 0:
        return f"{where}: must be greater than 0, got {value!r}"
    if sign == ">=" and float(limit) == 0:
        return f"{where}: must be 0 or more, got {value!r}"
    return f"{where}: must be {float(limit):g} or more, got {value!r}"
