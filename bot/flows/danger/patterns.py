"""The danger patterns' source language, read into the parts the detector looks for.
Pure: the sources come from the locales (``safety.patterns``).

A pattern source has one entry a line (``#`` starts a comment, blank lines are skipped):

    suicide: wil/wou dood            words in this order, up to 3 other words between
    suicide: wil niet meer leven     a pattern may contain a negation word itself
    threat: bedreig*                 ``*`` at the end: any word starting so (bedreigt, ...)
    violence: *geweld                ``*`` in front: any word ending so (partnergeweld)
    violence: in_elkaar =slaan       ``_`` joins words that must stand next to each other;
                                     ``=`` turns off typo tolerance for one word
    unsafe: in_gevaar/in_nood        ``/`` between alternatives, each a word or joined words
    stalking: staat .. voor deur     ``..`` allows up to 8 words between two parts
    stalking: volgt me $             ``$`` at the end: the sentence ends there
    unsafe: bang & hem               ``&``: the groups in any order, close together
    negation: niet geen nooit        words that cancel a match shortly before it or inside it
    clause: ik maar                  words that start a new clause: a negation before them
                                     does not reach past them ("ik kan niet meer ik wil dood")
    except: deadline* kill*          a phrase that is not danger: it cancels a match that
                                     shares a word with it (not one it merely surrounds)

Each word becomes a form in the lexicon (``words.py``): exact (``=``), or with one
typo allowed when it is long enough (5 letters, or 6 before a ``*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import get_args

from bot.config.organisation import DangerKind
from bot.flows.danger.words import APOSTROPHES, TYPO_MIN, TYPO_MIN_AFFIX, Lexicon, Spec, normalise

# The categories in order of precedence (a message that fits several gets the first):
# the config's kinds of danger, which the emergency routes are listed for.
CATEGORIES: tuple[str, ...] = get_args(get_args(DangerKind)[0])
NEGATION = "negation"
CLAUSE = "clause"
EXCEPT = "except"

GAP = 3  # other words allowed between two parts of a phrase
LONG_GAP = 8  # with ``..``

_WORD = re.compile(r"(?P<exact>=?)(?P<suffix>\*?)(?P<core>[^\W_]+)(?P<prefix>\*?)")


class PatternError(ValueError):
    """A pattern source that cannot be read; ``line`` counts from 1 in that source."""

    def __init__(self, line: int, message: str, language: str = "") -> None:
        where = f"{language}: line {line}" if language else f"line {line}"
        super().__init__(f"{where}: {message}")
        self.line = line
        self.language = language
        self.detail = message


@dataclass(frozen=True)
class Part:
    """One place in a pattern: one of some alternatives, each a word or joined words."""

    phrases: tuple[tuple[int, ...], ...]  # word numbers in the lexicon
    gap: int  # other words allowed before this part (after the previous one)
    anchors: tuple[int, ...]  # the longest word of each phrase, to find the pattern by
    rarity: int  # the shortest of those anchors' lengths: the higher, the rarer the part
    end: bool = False  # the sentence must end right after this part

    def __post_init__(self) -> None:
        # Derived once: these are looked at for every message.
        object.__setattr__(self, "ids", frozenset(w for phrase in self.phrases for w in phrase))
        object.__setattr__(self, "first", frozenset(phrase[0] for phrase in self.phrases))
        singles = frozenset(phrase[0] for phrase in self.phrases if len(phrase) == 1)
        object.__setattr__(self, "_singles", singles)
        object.__setattr__(self, "_longer", tuple(p for p in self.phrases if len(p) > 1))

    ids: frozenset[int] = field(init=False, repr=False, compare=False)
    first: frozenset[int] = field(init=False, repr=False, compare=False)
    _singles: frozenset[int] = field(init=False, repr=False, compare=False)
    _longer: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)

    def present(self, present: frozenset[int]) -> bool:
        if not self._singles.isdisjoint(present):
            return True
        return any(all(word in present for word in phrase) for phrase in self._longer)


@dataclass(frozen=True)
class Pattern:
    """One line of a source: its groups of parts (``&`` separates groups)."""

    category: str
    groups: tuple[tuple[Part, ...], ...]
    negated: bool  # contains a negation word itself: never cancelled by one
    language: str

    @property
    def parts(self) -> tuple[Part, ...]:
        return tuple(part for group in self.groups for part in group)


def parse(language: str, source: str, lexicon: Lexicon) -> list[Pattern]:
    """One language's patterns, their words added to ``lexicon``; PatternError at the
    first line that cannot be read."""
    patterns = []
    for number, raw in enumerate(source.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        category, colon, body = line.partition(":")
        category = category.strip()
        if not colon:
            raise PatternError(number, "expected 'category: words' (a colon is missing)", language)
        known = (*CATEGORIES, NEGATION, CLAUSE, EXCEPT)
        if category not in known:
            raise PatternError(
                number,
                f"unknown category {category!r}; use one of {', '.join(known)}",
                language,
            )
        try:
            groups = _parse_body(body, lexicon, single=category in (NEGATION, CLAUSE))
        except ValueError as exc:
            raise PatternError(number, str(exc), language) from None
        patterns.append(Pattern(category, groups, False, language))
    return patterns


def _parse_body(body: str, lexicon: Lexicon, single: bool) -> tuple[tuple[Part, ...], ...]:
    if not body.strip():
        raise ValueError("no words after the colon")
    if single:  # single words, exactly: "iemand" is no typo of "niemand"
        items = body.replace("/", " ").split()
        if any("_" in item for item in items):
            raise ValueError("only single words here, no '_'")
        return tuple((_part(f"={item.lstrip('=')}", lexicon, GAP),) for item in items)
    groups = []
    for group_text in body.split("&"):
        items = group_text.split()
        if not items:
            raise ValueError("'&' needs words on both sides")
        parts: list[Part] = []
        gap = GAP
        end = items[-1] == "$"
        if end:
            items.pop()
        for item in items:
            if item == "$":
                raise ValueError("'$' can only stand at the end")
            if item == "..":
                if not parts:
                    raise ValueError("'..' must stand between two words")
                gap = LONG_GAP
                continue
            parts.append(_part(item, lexicon, gap))
            gap = GAP
        if gap == LONG_GAP:
            raise ValueError("'..' must stand between two words")
        if not parts:
            raise ValueError("'$' must follow a word")
        if end:
            last = parts[-1]
            parts[-1] = Part(last.phrases, last.gap, last.anchors, last.rarity, end=True)
        groups.append(tuple(parts))
    return tuple(groups)


def _part(item: str, lexicon: Lexicon, gap: int) -> Part:
    phrases = []
    anchors = []
    for alternative in item.split("/"):
        specs = [_spec(word, item) for word in alternative.split("_")]
        phrases.append(tuple(lexicon.add(spec) for spec in specs))
        longest = max(specs, key=lambda spec: len(spec.core))
        anchors.append((lexicon.ids[longest], len(longest.core)))
    return Part(
        tuple(phrases),
        gap,
        tuple(word for word, _length in anchors),
        min(length for _word, length in anchors),
    )


def _spec(alternative: str, item: str) -> Spec:
    shown = alternative or item
    found = _WORD.fullmatch(alternative.translate(APOSTROPHES))
    if found is None:
        raise ValueError(
            f"{shown!r} is not a word: use letters and digits, with '*' only at the start "
            "or end, '=' only in front, '/' between alternatives, '_' between joined words"
        )
    words = normalise(found.group("core")).words
    if len(words) != 1:
        raise ValueError(f"{shown!r} is not a word")
    if found.group("suffix") and found.group("prefix"):
        raise ValueError(f"{shown!r}: use '*' at the start or at the end, not both")
    kind = "suffix" if found.group("suffix") else "prefix" if found.group("prefix") else "word"
    core = words[0]
    shortest = TYPO_MIN if kind == "word" else TYPO_MIN_AFFIX
    return Spec(kind, core, typo=not found.group("exact") and len(core) >= shortest)
