"""Hearing danger in whatever words a person uses: suicide, self-harm, threats, violence,
stalking, fear for one's safety. Pure: the patterns come from the locales, in the
language ``patterns.py`` reads.

Text and patterns are normalised alike (``words.py``): casefolded, diacritics and
apostrophes dropped (don't -> dont), "ij" read as "ei" (a common Dutch slip), other
punctuation to spaces, runs of three or more equal letters to two (or one: "dieee" is
"die"). A word of 5 or more letters also matches with one typo (one letter wrong,
missing, extra or two swapped); a ``*`` word needs 6 letters before the ``*`` for that.
A match is cancelled when a negation word (of any loaded language) stands among the 3
words before it or right after it (within the same clause), or in a gap inside it,
unless the pattern itself contains a negation word ("wil niet meer leven"). Every
language's patterns are checked against every message: people mix languages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.flows.danger.patterns import CATEGORIES, CLAUSE, EXCEPT, NEGATION, Part, Pattern, parse
from bot.flows.danger.words import Lexicon, Words, normalise

NEAR = 10  # the span within which ``&`` groups must all occur
LOOKBACK = 3  # words before a match in which a negation cancels it
LOOKAHEAD = 1  # and words after it ("hij slaat me niet")


@dataclass(frozen=True)
class DangerMatch:
    """What kind of danger a message speaks of: one of CATEGORIES."""

    category: str


_Span = tuple[int, int, tuple[int, ...]]  # first word, last word, the words of its gaps


def _spans(group: Sequence[Part], ids: Sequence[frozenset[int]], words: Words) -> list[_Span]:
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
        patterns: list[Pattern],
        exceptions: list[Pattern],
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
            p for language, source in sources.items() for p in parse(language, source, lexicon)
        ]
        negation_ids: frozenset[int] = frozenset().union(
            *(part.ids for p in parsed if p.category == NEGATION for part in p.parts)
        )
        clause_ids: frozenset[int] = frozenset().union(
            *(part.ids for p in parsed if p.category == CLAUSE for part in p.parts)
        )
        patterns = [
            Pattern(
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
            Pattern(p.category, p.groups, True, p.language) for p in parsed if p.category == EXCEPT
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
        self, pattern: Pattern, ids: Sequence[frozenset[int]], words: Words
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

    def __init__(self, patterns: list[Pattern]) -> None:
        self._patterns = patterns
        self._by_anchor: dict[int, list[int]] = {}
        for number, pattern in enumerate(patterns):
            anchor = max(pattern.parts, key=lambda part: part.rarity)
            for word_id in anchor.anchors:
                self._by_anchor.setdefault(word_id, []).append(number)

    def candidates(self, present: frozenset[int]) -> Iterator[Pattern]:
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
