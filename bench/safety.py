"""How well the bot hears danger: the patterns alone and with the learned scorer, on
every set in bench/safety_corpus/ apart, through the real engine at every place a
person types, and what the scorer costs.

Not a test: it prints figures and whether the targets are met. Sets:
- main corpus, hold-outs 1, 4 and 5a-c: the scorer learned from these (each hold-out
  only after its untuned figures were on record);
- hold-outs 6d-f: by writers who never saw the patterns or the corpus, never learned
  from: the figures that count.

    .venv/bin/python bench/safety.py [--quiet] [--positions N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

# The project root instead of bench/, whose telegram.py would shadow python-telegram-bot.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._positions import POSITIONS, positions
from bot.flows.danger.detector import DangerDetector
from bot.flows.danger.tiers import Strength, hear
from bot.scorer.embedding import Embedder
from bot.scorer.model import SURE_FROM_WORDS, DangerScorer
from bot.scorer.training import TRAINING_SETS, cross_validated, embed_lines, training_lines
from bot.texts.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "safety_corpus"
INDEPENDENT = ("holdout6d_", "holdout6e_", "holdout6f_")
SETS = {
    "": "main",
    "holdout_": "hold-out 1",
    "holdout4_": "hold-out 4",
    "holdout5a_": "hold-out 5a",
    "holdout5b_": "hold-out 5b",
    "holdout5c_": "hold-out 5c",
    "holdout6d_": "hold-out 6d",
    "holdout6e_": "hold-out 6e",
    "holdout6f_": "hold-out 6f",
}
RECALL_TARGET, ANY_ALARM_TARGET, STRONG_ALARM_TARGET = 0.95, 0.10, 0.05


def phrasings(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def strength(detector: DangerDetector, scorer: DangerScorer | None, text: str) -> Strength:
    """As the bot hears a typed message (bot/scorer/service.py: short ones unscored)."""
    scored = scorer is not None and len(text.split()) >= SURE_FROM_WORDS
    return hear(detector.detect(text), scorer.score(text) if scored else None).strength


def rate(values: list[Strength], at_least: Strength) -> float:
    return sum(v >= at_least for v in values) / len(values) if values else 0.0


def score_set(
    detector: DangerDetector, scorer: DangerScorer, prefix: str, lang: str
) -> tuple[float, float, float] | None:
    """Print one set's figures; return (recall, any alarm, strong alarm) combined."""
    danger_file = CORPUS / f"{prefix}{lang}_danger.txt"
    if not danger_file.exists():
        return None
    danger = phrasings(danger_file)
    neutral = phrasings(CORPUS / f"{prefix}{lang}_neutral.txt")
    alone = [strength(detector, None, t) for t in danger]
    alone_n = [strength(detector, None, t) for t in neutral]
    both = [strength(detector, scorer, t) for t in danger]
    both_n = [strength(detector, scorer, t) for t in neutral]
    learned = "learned from" if prefix in TRAINING_SETS else "never learned from"
    print(
        f"  {SETS[prefix] + ' ' + lang:<15} patterns: recall {rate(alone, Strength.STRONG):6.1%}"
        f" alarms {rate(alone_n, Strength.STRONG):5.1%} | with scorer: any line"
        f" {rate(both, Strength.GENTLE):6.1%}, routes {rate(both, Strength.STRONG):6.1%};"
        f" alarms any {rate(both_n, Strength.GENTLE):5.1%}, routes"
        f" {rate(both_n, Strength.STRONG):5.1%}  ({len(danger)}/{len(neutral)}, {learned})"
    )
    return rate(both, Strength.GENTLE), rate(both_n, Strength.GENTLE), rate(both_n, Strength.STRONG)


def cost(detector: DangerDetector, scorer: DangerScorer, embedder: Embedder) -> None:
    """CPU per free-text message: the whole hearing (patterns, clauses, both models)
    against the bare model call on the same text, taking turns."""
    lines = [
        line
        for prefix in INDEPENDENT
        for lang in ("nl", "en")
        for line in phrasings(CORPUS / f"{prefix}{lang}_danger.txt")
    ]
    whole, bare = [], []
    for text in lines:
        start = time.process_time()
        strength(detector, scorer, text)
        whole.append(time.process_time() - start)
        start = time.process_time()
        embedder.embed([text])
        bare.append(time.process_time() - start)
    quantiles = statistics.quantiles
    p50, p99 = statistics.median(whole), quantiles(whole, n=100)[98]
    b50, b99 = statistics.median(bare), quantiles(bare, n=100)[98]
    print(f"cost per free-text message ({len(lines)} hold-out 6 lines, CPU time):")
    print(f"  hearing: p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")
    print(f"  bare model call (one embedding): p50 {b50 * 1e3:.2f} ms, p99 {b99 * 1e3:.2f} ms")
    print(f"  ratio p50 {p50 / b50:.2f}x, p99 {p99 / b99:.2f}x (target <= 1.2x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quiet", action="store_true", help="accepted for ./dev bench")
    parser.add_argument("--positions", type=int, default=40, help="phrases per set and place")
    parser.add_argument("--rounds", type=int, default=0, help="accepted for ./dev bench")
    args, _others = parser.parse_known_args()
    detector = load_catalog(ROOT / "locales", "nl").danger_detector
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    scorer = DangerScorer.load()
    loaded = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("danger heard (bench/safety.py): patterns alone, and patterns with the scorer")
    print(f"  scorer loaded in {loaded:.2f} s, +{(rss_after - rss_before) / 1024:.0f} MB peak RSS")
    independent = []
    for prefix in SETS:
        for lang in ("nl", "en", "pl", "tr"):
            figures = score_set(detector, scorer, prefix, lang)
            if figures and prefix in INDEPENDENT:
                independent.append(figures)
    worst_recall = min(f[0] for f in independent)
    worst_any = max(f[1] for f in independent)
    worst_strong = max(f[2] for f in independent)
    print(
        f"  targets on hold-outs 6d-f: recall >= {RECALL_TARGET:.0%}"
        f" {'met' if worst_recall >= RECALL_TARGET else 'NOT met'} (lowest {worst_recall:.1%});"
        f" any line on neutral <= {ANY_ALARM_TARGET:.0%}"
        f" {'met' if worst_any <= ANY_ALARM_TARGET else 'NOT met'} (highest {worst_any:.1%});"
        f" routes on neutral <= {STRONG_ALARM_TARGET:.0%}"
        f" {'met' if worst_strong <= STRONG_ALARM_TARGET else 'NOT met'}"
        f" (highest {worst_strong:.1%})"
    )
    lines = training_lines(CORPUS)
    embedder = Embedder()
    whole, parts = embed_lines(embedder, lines)
    scores = cross_validated(lines, whole, parts)
    main_danger = [s for s, line in zip(scores, lines, strict=True) if line.danger]
    recall = sum(
        detector.detect(line.text) is not None or s >= scorer.weights.gentle
        for s, line in zip(scores, lines, strict=True)
        if line.danger
    ) / len(main_danger)
    print(
        f"  learned-from sets under 5-fold cross-validation (patterns or score): recall"
        f" {recall:.1%} (target >= 98 %: {'met' if recall >= 0.98 else 'NOT met'})"
    )
    cost(detector, scorer, embedder)
    if args.positions:
        phrases = {
            kind: [
                line
                for prefix in INDEPENDENT
                for lang in ("nl", "en")
                for line in phrasings(CORPUS / f"{prefix}{lang}_{kind}.txt")
            ][::1]
            for kind in ("danger", "neutral")
        }
        results = positions(phrases, args.positions)
        print(f"through the engine, up to {args.positions} hold-out 6 phrases per kind and place:")
        for place in POSITIONS:
            d, n = results[place]["danger"], results[place]["neutral"]
            print(
                f"  {place:<16} danger: routes {d['routes']:3d} gentle {d['gentle']:3d}"
                f" neither {d['none']:3d} cold {d['cold']:3d} | neutral: routes {n['routes']:3d}"
                f" gentle {n['gentle']:3d} cold {n['cold']:3d}"
            )
        cold = sum(r[k]["cold"] for r in results.values() for k in r)
        print(
            f"  cold replies to free text: {cold} (target 0: {'met' if cold == 0 else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
