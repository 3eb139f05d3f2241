"""Plural forms: one mechanism for every text with a number in it.

A placeholder with a plural spec picks the word form that fits the number, by the
language's CLDR plural category: ``{seconds} {seconds:one=seconde|other=seconden}``
reads "1 seconde" and "5 seconden". The number itself is a plain ``{seconds}``.

The rules are CLDR's cardinal rules (https://cldr.unicode.org, "Language Plural
Rules"). Dutch and English have two categories: "one" for the integer 1 without
decimals (CLDR: i = 1 and v = 0), "other" for everything else. A language whose rule
is not listed here falls back to that rule; add its rule here when a locale for it
needs "few" or "many".
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

CATEGORIES = ("zero", "one", "two", "few", "many", "other")
_SPEC = re.compile(r"^(?:zero|one|two|few|many|other)=")


def _one_other(number: Decimal) -> str:
    # CLDR "one: i = 1 and v = 0": the integer 1, written without decimals.
    whole = number == number.to_integral_value() and number.as_tuple().exponent == 0
    return "one" if whole and number == 1 else "other"


Rule = Callable[[Decimal], str]
RULES: Mapping[str, tuple[Rule, frozenset[str]]] = {
    "nl": (_one_other, frozenset({"one", "other"})),
    "en": (_one_other, frozenset({"one", "other"})),
}
_DEFAULT = RULES["en"]


def is_plural_spec(spec: str) -> bool:
    return bool(_SPEC.match(spec))


def parse_forms(spec: str) -> dict[str, str]:
    """``one=seconde|other=seconden`` as {category: form}; ValueError when malformed."""
    forms: dict[str, str] = {}
    for part in spec.split("|"):
        category, sep, form = part.partition("=")
        if not sep or category not in CATEGORIES:
            raise ValueError(f"{part!r} is not category=form (categories: {', '.join(CATEGORIES)})")
        if category in forms:
            raise ValueError(f"the form for {category!r} is given twice")
        forms[category] = form
    if "other" not in forms:
        raise ValueError("a plural needs an 'other' form")
    return forms


def plural_problems(text: str, lang: str) -> list[str]:
    """What is wrong with the plural specs of one text, for language ``lang``."""
    needed = RULES.get(lang, _DEFAULT)[1]
    problems = []
    for _literal, field, spec, _conversion in string.Formatter().parse(text):
        if field is None or not spec:
            continue
        if not is_plural_spec(spec):
            problems.append(f"{{{field}:{spec}}} is not a plural (write one=...|other=...)")
            continue
        try:
            forms = parse_forms(spec)
        except ValueError as exc:
            problems.append(f"{{{field}:...}}: {exc}")
            continue
        missing = sorted(needed - set(forms))
        if missing:
            problems.append(
                f"{{{field}:...}} lacks the form for {', '.join(missing)} ({lang} needs "
                f"{', '.join(c for c in CATEGORIES if c in needed)})"
            )
    return problems


def category(lang: str, value: Any) -> str:
    """The CLDR plural category of ``value`` (a number, or a number as text)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return "other"
    return RULES.get(lang, _DEFAULT)[0](number)


class PluralFormatter(string.Formatter):
    """``str.format`` with plural specs, for one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if is_plural_spec(format_spec):
            forms = parse_forms(format_spec)
            return forms.get(category(self.lang, value), forms["other"])
        return str(super().format_field(value, format_spec))
