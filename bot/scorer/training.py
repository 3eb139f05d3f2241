"""Training the scorer from the corpus in the repository, reproducibly.

    python -m bot.scorer.training [--corpus bench/safety_corpus] [--out bot/scorer/weights.json]

It reads the main corpus and the hold-outs that have already been scored (never one
that has not: a hold-out joins the training data only after its untuned figures are
on record), embeds every line, fits two L2-regularised logistic regressions by
Newton's method (no randomness), and picks the two thresholds from 5-fold
cross-validated scores. The same corpus gives the same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.flows.danger.patterns import CATEGORIES
from bot.scorer.embedding import Embedder, Vectors, chunks
from bot.scorer.model import WEIGHTS_FILE, Matrix, Weights, probabilities

# The sets the scorer learns from: the main corpus and hold-outs already scored.
TRAINING_SETS = ("", "holdout_", "holdout4_", "holdout5a_", "holdout5b_", "holdout5c_")
LANGUAGES = ("nl", "en")
# Greetings, short answers, names, times: what people type that tells nothing yet.
EVERYDAY = "everyday_neutral.txt"
FOLDS = 5
L2 = 0.03  # chosen under cross-validation: 0.003 to 3 tried (docs/danger.md)
# Targets for the thresholds, on cross-validated scores of the neutral lines: any line
# at all for at most this share, the emergency routes for at most this share.
GENTLE_FALSE_ALARMS = 0.08
STRONG_FALSE_ALARMS = 0.02


@dataclass(frozen=True)
class Line:
    text: str
    danger: bool
    category: str  # "" where the corpus does not say
    everyday: bool = False  # a greeting, a name, a time: easy, so no guide for thresholds


def read_set(path: Path, danger: bool) -> list[Line]:
    """One corpus file; a ``# category`` comment labels the lines below it."""
    lines, category = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        text = raw.strip()
        if text.startswith("#"):
            name = text.lstrip("# ").split()[0] if text.lstrip("# ") else ""
            category = name if name in CATEGORIES else ""
        elif text:
            lines.append(Line(text, danger, category if danger else ""))
    return lines


def training_files(corpus: Path) -> list[Path]:
    return [
        corpus / f"{prefix}{lang}_{kind}.txt"
        for prefix in TRAINING_SETS
        for lang in LANGUAGES
        for kind in ("danger", "neutral")
    ] + [corpus / EVERYDAY]


def training_lines(corpus: Path) -> list[Line]:
    lines = []
    for path in training_files(corpus):
        if path.name == EVERYDAY:
            lines += [Line(line.text, False, "", True) for line in read_set(path, False)]
        else:
            lines += read_set(path, path.stem.endswith("_danger"))
    return lines


def corpus_digest(corpus: Path) -> str:
    digest = hashlib.sha256()
    for path in training_files(corpus):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fit_logistic(
    x: Vectors, y: Matrix, l2: float = L2, iterations: int = 50
) -> tuple[Matrix, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method),
    the two classes weighed equally however many lines each has."""
    rows, dims = x.shape
    design = np.hstack([x.astype(np.float64), np.ones((rows, 1))])
    positive = max(float(y.sum()), 1.0)
    balance = np.where(y > 0, rows / (2 * positive), rows / (2 * max(rows - positive, 1.0)))
    penalty = l2 * np.eye(dims + 1)
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    w = np.zeros(dims + 1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ ((p - y) * balance) + penalty @ w
        hessian = (design.T * (p * (1 - p) * balance)) @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return w[:-1], float(w[-1])


def fit(
    vectors: Vectors, lines: Sequence[Line], gentle: float = 0.5, strong: float = 0.5
) -> Weights:
    y = np.array([1.0 if line.danger else 0.0 for line in lines])
    coef, bias = fit_logistic(vectors, y)
    labelled = [i for i, line in enumerate(lines) if line.category]
    categories = tuple(sorted({lines[i].category for i in labelled}))
    rows = []
    for category in categories:
        target = np.array([1.0 if lines[i].category == category else 0.0 for i in labelled])
        rows.append(fit_logistic(vectors[labelled], target))
    return Weights(
        coef=coef,
        bias=bias,
        categories=categories,
        category_coef=np.array([row[0] for row in rows]),
        category_bias=np.array([row[1] for row in rows]),
        gentle=gentle,
        strong=strong,
        corpus_sha256="",
    )


def folds(lines: Sequence[Line], count: int = FOLDS) -> list[int]:
    """A fold per line: danger and neutral lines dealt out in turn, in corpus order."""
    fold, dealt = [], {True: 0, False: 0}
    for line in lines:
        fold.append(dealt[line.danger] % count)
        dealt[line.danger] += 1
    return fold


def embed_lines(embedder: Embedder, lines: Sequence[Line]) -> tuple[Vectors, list[Vectors]]:
    """Each line's own vector, and the vectors of its chunks (as it is scored)."""
    whole = embedder.embed([line.text for line in lines])
    parts = [embedder.embed(chunks(line.text)) for line in lines]
    return whole, parts


def cross_validated(lines: Sequence[Line], whole: Vectors, parts: list[Vectors]) -> Matrix:
    """Each line's score from a model that never saw it."""
    fold_of = folds(lines)
    scores = np.zeros(len(lines))
    for fold in range(FOLDS):
        train = [i for i in range(len(lines)) if fold_of[i] != fold]
        weights = fit(whole[train], [lines[i] for i in train])
        for i in range(len(lines)):
            if fold_of[i] == fold:
                scores[i] = float(probabilities(weights, parts[i]).max())
    return scores


def threshold(neutral_scores: Matrix, share: float) -> float:
    """The lowest threshold that at most ``share`` of the neutral scores reach."""
    ordered = np.sort(neutral_scores)[::-1]
    allowed = int(np.floor(share * len(ordered)))
    return float(ordered[allowed]) + 1e-6 if allowed < len(ordered) else 0.0


def train(corpus: Path) -> tuple[Weights, dict[str, float]]:
    lines = training_lines(corpus)
    embedder = Embedder()
    whole, parts = embed_lines(embedder, lines)
    scores = cross_validated(lines, whole, parts)
    danger = np.array([line.danger for line in lines])
    everyday = np.array([line.everyday for line in lines])
    hard = ~danger & ~everyday  # the corpus's neutral lines, many in danger's words
    gentle = threshold(scores[hard], GENTLE_FALSE_ALARMS)
    strong = max(threshold(scores[hard], STRONG_FALSE_ALARMS), gentle)
    weights = fit(whole, lines, gentle=round(gentle, 6), strong=round(strong, 6))
    figures = {
        "lines": float(len(lines)),
        "cv_recall_gentle": float((scores[danger] >= gentle).mean()),
        "cv_recall_strong": float((scores[danger] >= strong).mean()),
        "cv_false_alarms_gentle": float((scores[hard] >= gentle).mean()),
        "cv_false_alarms_strong": float((scores[hard] >= strong).mean()),
        "cv_everyday_any_line": float((scores[everyday] >= gentle).mean()),
    }
    return Weights(**{**weights.__dict__, "corpus_sha256": corpus_digest(corpus)}), figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("bench/safety_corpus"))
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    args = parser.parse_args(argv)
    weights, figures = train(args.corpus)
    args.out.write_text(json.dumps(weights.to_json()) + "\n", encoding="utf-8")
    for name, value in figures.items():
        print(f"{name}: {value:.4f}")
    print(f"thresholds: gentle {weights.gentle:.4f}, strong {weights.strong:.4f} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
