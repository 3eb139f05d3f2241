"""How the danger detector reads words (the patterns are read in ``patterns.py`` and
matched in ``detector.py``).

A message becomes a list of words, with where its clauses and sentences end: casefolded,
diacritics and apostrophes dropped, "ij" read as "ei", runs of a letter shortened. The
lexicon knows every word form the patterns use, and finds which of them a word fits,
exactly or with one typo. It keeps nothing of the words it is asked about.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TYPO_MIN = 5  # words this long or longer match with one typo
TYPO_MIN_AFFIX = 6  # the same for the fixed part of a ``*`` word

APOSTROPHES = dict.fromkeys(map(ord, "'`\u00b4\u2018\u2019\u02bc\u2032"), None)
_TOKENS = re.compile(
    r"(?P<word>[^\W_]+)|(?P<sentence>[.!?;\n])|(?P<clause>[,:()\[\]\"\u201c\u201d])"
)
_REPEATS = re.compile(r"(.)\1{2,}")
_DOUBLES = re.compile(r"(.)\1+")


@dataclass(frozen=True)
class Words:
    """What the text looks like to the patterns: words, and where clauses end."""

    words: tuple[str, ...]
    emphasis: tuple[str, ...]  # each word with every run of letters made one ("" if none)
    clause: tuple[int, ...]  # clause number of each word (any punctuation ends one)
    sentence: tuple[int, ...]  # sentence number of each word (. ! ? ; newline end one)


def normalise(text: str) -> Words:
    text = text.translate(APOSTROPHES)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold()
    text = text.replace("ij", "ei")
    words: list[str] = []
    emphasis: list[str] = []
    clause: list[int] = []
    sentence: list[int] = []
    emphasised = _REPEATS.search(text) is not None
    c = s = 0
    for found in _TOKENS.finditer(text):
        kind = found.lastgroup
        if kind == "word":
            word = found.group()
            shortened = _REPEATS.sub(r"\1\1", word) if emphasised else word
            words.append(shortened)
            emphasis.append(_DOUBLES.sub(r"\1", word) if shortened != word else "")
            clause.append(c)
            sentence.append(s)
        elif kind == "sentence":
            s += 1
            c += 1
        else:
            c += 1
    return Words(tuple(words), tuple(emphasis), tuple(clause), tuple(sentence))


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


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_NOTHING: frozenset[int] = frozenset()


def _neighbours(word: str) -> set[str]:
    """Every string one typo away from ``word`` (in the letters a to z)."""
    found = _deletes(word)
    for i in range(len(word) - 1):
        found.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    for i in range(len(word) + 1):
        for letter in _LETTERS:
            found.add(word[:i] + letter + word[i:])
            if i < len(word):
                found.add(word[:i] + letter + word[i + 1 :])
    return found


@dataclass(frozen=True)
class Spec:
    kind: str  # "word", "prefix" or "suffix"
    core: str
    typo: bool


class Lexicon:
    """Every word form the patterns know, by number; looks up which ones a word fits.

    Keeps nothing of the words it is asked about: no cache of what people typed."""

    def __init__(self) -> None:
        self.ids: dict[Spec, int] = {}
        self._cores: list[str] = []
        self._words: dict[str, set[int]] = {}  # whole words, exactly
        self._word_deletes: dict[str, list[int]] = {}  # typo-tolerant words and their deletes
        # Beginnings and endings: exactly, and every form one typo away (few and short).
        self._affixes: dict[str, dict[str, set[int]]] = {"prefix": {}, "suffix": {}}
        self._lengths: dict[str, tuple[int, ...]] = {"prefix": (), "suffix": ()}

    def add(self, spec: Spec) -> int:
        if spec in self.ids:
            return self.ids[spec]
        number = self.ids[spec] = len(self.ids)
        self._cores.append(spec.core)
        if spec.kind == "word":
            self._words.setdefault(spec.core, set()).add(number)
            if spec.typo:
                for key in {spec.core} | _deletes(spec.core):
                    self._word_deletes.setdefault(key, []).append(number)
        else:
            forms = {spec.core}
            if spec.typo:
                forms |= {f for f in _neighbours(spec.core) if len(f) >= TYPO_MIN_AFFIX}
            table = self._affixes[spec.kind]
            for form in forms:
                table.setdefault(form, set()).add(number)
            lengths = {*self._lengths[spec.kind], *(len(form) for form in forms)}
            self._lengths[spec.kind] = tuple(sorted(lengths))
        return number

    def match(self, word: str) -> frozenset[int]:
        found = set(self._words.get(word, ()))
        if len(word) >= TYPO_MIN:
            cores = self._cores
            for key in (word, *_deletes(word)):
                for number in self._word_deletes.get(key, ()):
                    if number not in found and within_one_edit(word, cores[number]):
                        found.add(number)
        prefixes = self._affixes["prefix"]
        for length in self._lengths["prefix"]:
            if length > len(word):
                break
            hit = prefixes.get(word[:length])
            if hit:
                found |= hit
        suffixes = self._affixes["suffix"]
        for length in self._lengths["suffix"]:
            if length > len(word):
                break
            hit = suffixes.get(word[-length:])
            if hit:
                found |= hit
        return frozenset(found) if found else _NOTHING
