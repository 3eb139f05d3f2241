"""Hearing danger in whatever words a person uses: suicide, self-harm, threats, violence,
stalking, fear for one's safety. Pure: the patterns come from the locales.

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

Text and patterns are normalised alike: casefolded, diacritics and apostrophes dropped
(don't -> dont), "ij" read as "ei" (a common Dutch slip), other punctuation to spaces,
runs of three or more equal letters to two (or one: "dieee" is "die"). A word of 5 or
more letters also matches with one typo (one letter wrong, missing, extra or two
swapped); a ``*`` word needs 6 letters before the ``*`` for that. A match is cancelled
when a negation word (of any loaded language) stands among the 3 words before it or
right after it (within the same clause), or in a gap inside it, unless the pattern
itself contains a negation word ("wil niet meer leven"). Every language's patterns are
checked against every message: people mix languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bot.flows.danger.words import (
    APOSTROPHES,
    TYPO_MIN,
    TYPO_MIN_AFFIX,
    Lexicon,
    Spec,
    Words,
    normalise,
)

# The categories in order of precedence: a message that fits several gets the first.
CATEGORIES = (
    "suicide",
    "self_harm",
    "sexual_violence",
    "domestic_violence",
    "violence",
    "threat",
    "stalking",
    "unsafe",
)
NEGATION = "negation"
CLAUSE = "clause"
EXCEPT = "except"

GAP = 3  # other words allowed between two parts of a phrase
LONG_GAP = 8  # with ``..``
NEAR = 10  # the span within which ``&`` groups must all occur
LOOKBACK = 3  # words before a match in which a negation cancels it
LOOKAHEAD = 1  # and words after it ("hij slaat me niet")

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
class DangerMatch:
    """What kind of danger a message speaks of: one of CATEGORIES."""

    category: str


@dataclass(frozen=True)
class _Part:
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
class _Pattern:
    category: str
    groups: tuple[tuple[_Part, ...], ...]
    negated: bool  # contains a negation word itself: never cancelled by one
    language: str

    @property
    def parts(self) -> tuple[_Part, ...]:
        return tuple(part for group in self.groups for part in group)


_Span = tuple[int, int, tuple[int, ...]]  # first word, last word, the words of its gaps


def _spans(group: Sequence[_Part], ids: Sequence[frozenset[int]], words: Words) -> list[_Span]:
    found: list[_Span] = []
    count = len(ids)
    sentence = words.sentence

    def fits(phrase: tuple[int, ...], position: int) -> bool:
        if position + len(phrase) > count:
            return False
        return all(
            word in ids[position + i] and sentence[position + i] == sentence[position]
            for i, word in enumerate(phrase)
        )

    def extend(index: int, start: int, last: int, gaps: tuple[int, ...]) -> None:
        if index == len(group):
            if not group[-1].end or last + 1 == count or sentence[last + 1] != sentence[last]:
                found.append((start, last, gaps))
            return
        part = group[index]
        first = part.first
        for position in range(last + 1, min(count, last + 2 + part.gap)):
            if sentence[position] != sentence[last]:
                break
            if first.isdisjoint(ids[position]):
                continue
            for phrase in part.phrases:
                if fits(phrase, position):
                    gap = tuple(range(last + 1, position))
                    extend(index + 1, start, position + len(phrase) - 1, gaps + gap)

    head = group[0]
    first = head.first
    for position, word_ids in enumerate(ids):
        if not first.isdisjoint(word_ids):
            for phrase in head.phrases:
                if fits(phrase, position):
                    extend(1, position, position + len(phrase) - 1, ())
    return found


class DangerDetector:
    def __init__(
        self,
        lexicon: Lexicon,
        patterns: list[_Pattern],
        exceptions: list[_Pattern],
        negation_ids: frozenset[int],
        clause_ids: frozenset[int],
    ) -> None:
        self._lexicon = lexicon
        self._patterns = _Index(sorted(patterns, key=lambda p: CATEGORIES.index(p.category)))
        self._exceptions = _Index(exceptions)
        self._negation_ids = negation_ids
        self._clause_ids = clause_ids

    @classmethod
    def from_sources(cls, sources: Mapping[str, str]) -> DangerDetector:
        """Compile every language's pattern source; raises PatternError naming the
        language and line of the first thing wrong."""
        lexicon = Lexicon()
        parsed = [
            p for language, source in sources.items() for p in _parse(language, source, lexicon)
        ]
        negation_ids: frozenset[int] = frozenset().union(
            *(part.ids for p in parsed if p.category == NEGATION for part in p.parts)
        )
        clause_ids: frozenset[int] = frozenset().union(
            *(part.ids for p in parsed if p.category == CLAUSE for part in p.parts)
        )
        patterns = [
            _Pattern(
                p.category,
                p.groups,
                any(not part.ids.isdisjoint(negation_ids) for part in p.parts),
                p.language,
            )
            for p in parsed
            if p.category in CATEGORIES
        ]
        # An exception holds whatever words surround it.
        exceptions = [
            _Pattern(p.category, p.groups, True, p.language) for p in parsed if p.category == EXCEPT
        ]
        return cls(lexicon, patterns, exceptions, negation_ids, clause_ids)

    def detect(self, text: str) -> DangerMatch | None:
        """The kind of danger ``text`` speaks of, or None."""
        words = normalise(text)
        known: dict[str, frozenset[int]] = {}  # for this message only

        def look(word: str) -> frozenset[int]:
            found = known.get(word)
            if found is None:
                found = known[word] = self._lexicon.match(word)
            return found

        ids = [
            look(word) | look(plain) if plain else look(word)
            for word, plain in zip(words.words, words.emphasis, strict=True)
        ]
        present = frozenset().union(*ids) if ids else frozenset()
        excepted: list[_Span] | None = None
        for pattern in self._patterns.candidates(present):
            for span in self._occurrences(pattern, ids, words):
                if excepted is None:
                    excepted = [
                        s
                        for e in self._exceptions.candidates(present)
                        for s in self._occurrences(e, ids, words)
                    ]
                if not any(_shares(e, span) for e in excepted):
                    return DangerMatch(pattern.category)
        return None

    def _occurrences(
        self, pattern: _Pattern, ids: Sequence[frozenset[int]], words: Words
    ) -> Iterator[_Span]:
        per_group = []
        for group in pattern.groups:
            spans = [
                s
                for s in _spans(group, ids, words)
                if pattern.negated or not self._negated(s, ids, words)
            ]
            if not spans:
                return
            per_group.append(spans)
        if len(per_group) == 1:
            yield from per_group[0]
            return
        yield from _together(per_group, words)

    def _negated(self, span: _Span, ids: Sequence[frozenset[int]], words: Words) -> bool:
        start, last, gaps = span
        near = list(gaps)
        for p in range(start - 1, max(-1, start - 1 - LOOKBACK), -1):
            if words.clause[p] != words.clause[start] or not ids[p].isdisjoint(self._clause_ids):
                break
            near.append(p)
        for p in range(last + 1, min(len(ids), last + 1 + LOOKAHEAD)):
            if words.clause[p] != words.clause[last] or not ids[p].isdisjoint(self._clause_ids):
                break
            near.append(p)
        return any(not ids[p].isdisjoint(self._negation_ids) for p in near)


def _shares(exception: _Span, match: _Span) -> bool:
    """An exception holds for a match when they share a matched word (not just a gap):
    "threatened to fire me" excepts "threatened", not "kill me" in "threatened to kill me
    if i leave"."""
    start, last, gaps = match
    words = set(range(start, last + 1)).difference(gaps)
    e_start, e_last, e_gaps = exception
    return any(e_start <= p <= e_last and p not in e_gaps for p in words)


class _Index:
    """Patterns found by their rarest part: only those whose every part is present in
    a message are tried on it."""

    def __init__(self, patterns: list[_Pattern]) -> None:
        self._patterns = patterns
        self._by_anchor: dict[int, list[int]] = {}
        for number, pattern in enumerate(patterns):
            anchor = max(pattern.parts, key=lambda part: part.rarity)
            for word_id in anchor.anchors:
                self._by_anchor.setdefault(word_id, []).append(number)

    def candidates(self, present: frozenset[int]) -> Iterator[_Pattern]:
        numbers = {n for word_id in present for n in self._by_anchor.get(word_id, ())}
        for number in sorted(numbers):
            pattern = self._patterns[number]
            if all(part.present(present) for part in pattern.parts):
                yield pattern


def _together(per_group: list[list[_Span]], words: Words) -> Iterator[_Span]:
    """Spans, one from each group, that lie close together in one sentence."""

    def pick(index: int, chosen: list[_Span]) -> Iterator[_Span]:
        if index == len(per_group):
            start = min(s[0] for s in chosen)
            last = max(s[1] for s in chosen)
            if last - start <= NEAR and words.sentence[start] == words.sentence[last]:
                yield (start, last, ())
            return
        for span in per_group[index]:
            yield from pick(index + 1, [*chosen, span])

    yield from pick(0, [])


def _parse(language: str, source: str, lexicon: Lexicon) -> list[_Pattern]:
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
        patterns.append(_Pattern(category, groups, False, language))
    return patterns


def _parse_body(body: str, lexicon: Lexicon, single: bool) -> tuple[tuple[_Part, ...], ...]:
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
        parts: list[_Part] = []
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
            parts[-1] = _Part(last.phrases, last.gap, last.anchors, last.rarity, end=True)
        groups.append(tuple(parts))
    return tuple(groups)


def _part(item: str, lexicon: Lexicon, gap: int) -> _Part:
    phrases = []
    anchors = []
    for alternative in item.split("/"):
        specs = [_spec(word, item) for word in alternative.split("_")]
        phrases.append(tuple(lexicon.add(spec) for spec in specs))
        longest = max(specs, key=lambda spec: len(spec.core))
        anchors.append((lexicon.ids[longest], len(longest.core)))
    return _Part(
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
