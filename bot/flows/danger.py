"""Hearing danger in whatever words a person uses: suicide, self-harm, threats, violence,
stalking, fear for one's safety. Pure: the patterns come from the locales.

A pattern source has one entry a line (``#`` starts a comment, blank lines are skipped):

    suicide: wil/wou dood            words in this order, up to 3 other words between
    suicide: wil niet meer leven     a pattern may contain a negation word itself
    threat: bedreig*                 ``*`` at the end: any word starting so (bedreigt, ...)
    violence: *geweld                ``*`` in front: any word ending so (partnergeweld)
    violence: in_elkaar =slaan       ``_`` joins words that must stand next to each other;
                                     ``=`` turns off typo tolerance for one word
    stalking: staat .. voor deur     ``..`` allows up to 8 words between two parts
    stalking: volgt me $             ``$`` at the end: the sentence ends there
    unsafe: bang & hem               ``&``: the groups in any order, close together
    negation: niet geen nooit        words that cancel a match shortly before it or inside it
    clause: ik maar                  words that start a new clause: a negation before them
                                     does not reach past them ("ik kan niet meer ik wil dood")
    except: deadline* kill*          a phrase that is not danger although a pattern hits it

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
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

# The categories in order of precedence: a message that fits several gets the first.
CATEGORIES = (
    "suicide",
    "self_harm",
    "sexual_violence",
    "violence",
    "threat",
    "domestic_violence",
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
TYPO_MIN = 5  # words this long or longer match with one typo
TYPO_MIN_AFFIX = 6  # the same for the fixed part of a ``*`` word

_APOSTROPHES = dict.fromkeys(map(ord, "'`\u00b4\u2018\u2019\u02bc\u2032"), None)
_TOKENS = re.compile(r"[^\W_]+|(?P<sentence>[.!?;\n])|(?P<clause>[,:()\[\]\"\u201c\u201d])")
_REPEATS = re.compile(r"(.)\1{2,}")
_DOUBLES = re.compile(r"(.)\1+")
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
    category: str


@dataclass(frozen=True)
class _Words:
    """What the text looks like to the patterns: words, and where clauses end."""

    words: tuple[str, ...]
    emphasis: tuple[str, ...]  # each word with every run of letters made one ("" if none)
    clause: tuple[int, ...]  # clause number of each word (any punctuation ends one)
    sentence: tuple[int, ...]  # sentence number of each word (. ! ? ; newline end one)


def normalise(text: str) -> _Words:
    text = text.translate(_APOSTROPHES)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    text = text.replace("ij", "ei")
    words: list[str] = []
    emphasis: list[str] = []
    clause: list[int] = []
    sentence: list[int] = []
    c = s = 0
    for found in _TOKENS.finditer(text):
        if found.group("sentence"):
            s += 1
            c += 1
        elif found.group("clause"):
            c += 1
        else:
            word = found.group()
            shortened = _REPEATS.sub(r"\1\1", word)
            words.append(shortened)
            emphasis.append(_DOUBLES.sub(r"\1", word) if shortened != word else "")
            clause.append(c)
            sentence.append(s)
    return _Words(tuple(words), tuple(emphasis), tuple(clause), tuple(sentence))


def within_one_edit(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` differ by at most one letter changed, added, dropped, or
    two neighbours swapped."""
    if a == b:
        return True
    if len(a) < len(b):
        a, b = b, a
    if len(a) - len(b) > 1:
        return False
    i = 0
    while i < len(b) and a[i] == b[i]:
        i += 1
    if len(a) != len(b):
        return a[i + 1 :] == b[i:]
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True)
class _Spec:
    kind: str  # "word", "prefix" or "suffix"
    core: str
    typo: bool


class _Lexicon:
    """Every word form the patterns know, by number; looks up which ones a word fits."""

    def __init__(self) -> None:
        self.ids: dict[_Spec, int] = {}
        self._exact: dict[tuple[str, str], list[int]] = {}  # (kind, core) -> ids
        self._fuzzy: dict[tuple[str, str], list[int]] = {}  # (kind, core or a delete)
        self._lengths: dict[str, set[int]] = {"prefix": set(), "suffix": set()}
        self._cache: dict[str, frozenset[int]] = {}

    def add(self, spec: _Spec) -> int:
        if spec in self.ids:
            return self.ids[spec]
        number = self.ids[spec] = len(self.ids)
        self._exact.setdefault((spec.kind, spec.core), []).append(number)
        if spec.kind != "word":
            self._lengths[spec.kind].add(len(spec.core))
        if spec.typo:
            for key in {spec.core} | _deletes(spec.core):
                self._fuzzy.setdefault((spec.kind, key), []).append(number)
        return number

    def _lookup(self, kind: str, piece: str, fuzzy: bool, found: set[int]) -> None:
        found.update(self._exact.get((kind, piece), ()))
        if fuzzy and len(piece) >= TYPO_MIN - 1:
            specs = self._specs_list
            for key in {piece} | _deletes(piece):
                for number in self._fuzzy.get((kind, key), ()):
                    if within_one_edit(piece, specs[number].core):
                        found.add(number)

    def freeze(self) -> None:
        self._specs_list = sorted(self.ids, key=self.ids.__getitem__)
        self._prefix_lengths = sorted(self._lengths["prefix"])
        self._suffix_lengths = sorted(self._lengths["suffix"])

    def match(self, word: str) -> frozenset[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        found: set[int] = set()
        fuzzy = len(word) >= TYPO_MIN
        self._lookup("word", word, fuzzy, found)
        for length in self._prefix_lengths:
            for cut in (length - 1, length, length + 1) if fuzzy else (length,):
                if 0 < cut <= len(word):
                    self._lookup("prefix", word[:cut], fuzzy and cut >= TYPO_MIN, found)
        for length in self._suffix_lengths:
            for cut in (length - 1, length, length + 1) if fuzzy else (length,):
                if 0 < cut <= len(word):
                    self._lookup("suffix", word[-cut:], fuzzy and cut >= TYPO_MIN, found)
        result = frozenset(found)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[word] = result
        return result


@dataclass(frozen=True)
class _Part:
    ids: frozenset[int]
    gap: int  # other words allowed before this part (after the previous one)
    minimum: int  # length of its shortest word form, to pick the rarest part
    end: bool = False  # the sentence must end right after this part


@dataclass(frozen=True)
class _Pattern:
    category: str
    groups: tuple[tuple[_Part, ...], ...]
    negated: bool  # contains a negation word itself: never cancelled by one
    language: str

    @property
    def parts(self) -> Iterator[_Part]:
        for group in self.groups:
            yield from group


_Span = tuple[int, int, tuple[int, ...]]  # first word, last word, the words of its gaps


def _spans(group: Sequence[_Part], ids: Sequence[frozenset[int]], words: _Words) -> list[_Span]:
    found: list[_Span] = []

    def extend(index: int, start: int, last: int, gaps: tuple[int, ...]) -> None:
        if index == len(group):
            if (
                not group[-1].end
                or last + 1 == len(ids)
                or words.sentence[last + 1] != words.sentence[last]
            ):
                found.append((start, last, gaps))
            return
        part = group[index]
        for position in range(last + 1, min(len(ids), last + 2 + part.gap)):
            if words.sentence[position] != words.sentence[last]:
                break
            if not part.ids.isdisjoint(ids[position]):
                extend(index + 1, start, position, gaps + tuple(range(last + 1, position)))

    first = group[0].ids
    for position, word_ids in enumerate(ids):
        if not first.isdisjoint(word_ids):
            extend(1, position, position, ())
    return found


class DangerDetector:
    def __init__(
        self,
        lexicon: _Lexicon,
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
        lexicon = _Lexicon()
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
        lexicon.freeze()
        return cls(lexicon, patterns, exceptions, negation_ids, clause_ids)

    def detect(self, text: str) -> DangerMatch | None:
        """The kind of danger ``text`` speaks of, or None."""
        words = normalise(text)
        ids = [
            self._lexicon.match(word) | self._lexicon.match(plain)
            if plain
            else self._lexicon.match(word)
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
                if not any(s[0] <= span[1] and span[0] <= s[1] for s in excepted):
                    return DangerMatch(pattern.category)
        return None

    def _occurrences(
        self, pattern: _Pattern, ids: Sequence[frozenset[int]], words: _Words
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

    def _negated(self, span: _Span, ids: Sequence[frozenset[int]], words: _Words) -> bool:
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


class _Index:
    """Patterns found by their rarest part: only those whose every part is present in
    a message are tried on it."""

    def __init__(self, patterns: list[_Pattern]) -> None:
        self._patterns = patterns
        self._by_anchor: dict[int, list[int]] = {}
        for number, pattern in enumerate(patterns):
            anchor = max(pattern.parts, key=lambda part: part.minimum)
            for word_id in anchor.ids:
                self._by_anchor.setdefault(word_id, []).append(number)

    def candidates(self, present: frozenset[int]) -> Iterator[_Pattern]:
        numbers = {n for word_id in present for n in self._by_anchor.get(word_id, ())}
        for number in sorted(numbers):
            pattern = self._patterns[number]
            if all(not part.ids.isdisjoint(present) for part in pattern.parts):
                yield pattern


def _together(per_group: list[list[_Span]], words: _Words) -> Iterator[_Span]:
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


def _parse(language: str, source: str, lexicon: _Lexicon) -> list[_Pattern]:
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


def _parse_body(body: str, lexicon: _Lexicon, single: bool) -> tuple[tuple[_Part, ...], ...]:
    if not body.strip():
        raise ValueError("no words after the colon")
    if single:  # single words, exactly: "iemand" is no typo of "niemand"
        return tuple((_part(f"={item.lstrip('=')}", lexicon, GAP),) for item in body.split())
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
            for index, piece in enumerate(item.split("_")):
                parts.append(_part(piece, lexicon, 0 if index else gap))
            gap = GAP
        if gap == LONG_GAP:
            raise ValueError("'..' must stand between two words")
        if not parts:
            raise ValueError("'$' must follow a word")
        if end:
            parts[-1] = _Part(parts[-1].ids, parts[-1].gap, parts[-1].minimum, end=True)
        groups.append(tuple(parts))
    return tuple(groups)


def _part(item: str, lexicon: _Lexicon, gap: int) -> _Part:
    ids = set()
    minimum = 1000
    for alternative in item.split("/"):
        spec = _spec(alternative, item)
        ids.add(lexicon.add(spec))
        minimum = min(minimum, len(spec.core))
    return _Part(frozenset(ids), gap, minimum)


def _spec(alternative: str, item: str) -> _Spec:
    shown = alternative or item
    found = _WORD.fullmatch(alternative.translate(_APOSTROPHES))
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
    return _Spec(kind, core, typo=not found.group("exact") and len(core) >= shortest)
