"""How well the danger detector hears danger: recall and false alarms per language on the
corpus in bench/safety_corpus/, the two held-out sets apart, and its time per message.

Not a test: it prints figures, lists every miss and false alarm, and says whether the
targets are met (recall >= 98 %, false alarms <= 3 % on the main corpus). The time per
message (the best of 7 runs) is set beside a floor measured in the same run: the NFC clean-up every
message already gets (bot.flows.intake.clean_text).

    .venv/bin/python bench/safety.py [--rounds 3] [--quiet]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

# The project root instead of bench/, whose telegram.py would shadow python-telegram-bot.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bot.flows.danger.detector import DangerDetector
from bot.flows.intake import clean_text
from bot.texts.catalog import DANGER_PATTERNS_KEY, load_catalog

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "safety_corpus"
RECALL_TARGET = 0.98
FALSE_ALARM_TARGET = 0.03
LANGUAGES = ("nl", "en")
_NAMES = {"": "main", "holdout_": "hold-out 1", "holdout4_": "hold-out 4"}


def phrasings(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def score(detector: DangerDetector, prefix: str, lang: str, quiet: bool) -> tuple[bool, bool]:
    danger = phrasings(CORPUS / f"{prefix}{lang}_danger.txt")
    neutral = phrasings(CORPUS / f"{prefix}{lang}_neutral.txt")
    misses = [line for line in danger if detector.detect(line) is None]
    alarms = [(line, match.category) for line in neutral if (match := detector.detect(line))]
    recall = 1 - len(misses) / len(danger)
    false_alarms = len(alarms) / len(neutral)
    label = f"{_NAMES[prefix]} {lang}"
    print(
        f"  {label:<14} recall {recall:6.1%} ({len(danger) - len(misses)}/{len(danger)})"
        f"   false alarms {false_alarms:5.1%} ({len(alarms)}/{len(neutral)})"
    )
    if not quiet:
        for line in misses:
            print(f"      missed:      {line}")
        for line, category in alarms:
            print(f"      false alarm: {line}   [{category}]")
    return recall >= RECALL_TARGET, false_alarms <= FALSE_ALARM_TARGET


def per_message(
    calls: tuple[Callable[[str], object], ...], messages: list[str], rounds: int
) -> list[float]:
    """Seconds per message for each call: the best of 7 runs, the calls taking turns
    (the machine may be shared, and a floor measured at another moment says little)."""
    best = [float("inf")] * len(calls)
    for _ in range(7):
        for index, call in enumerate(calls):
            start = time.perf_counter()
            for _ in range(rounds):
                for message in messages:
                    call(message)
            best[index] = min(best[index], time.perf_counter() - start)
    return [seconds / (rounds * len(messages)) for seconds in best]


def timing(sources: dict[str, str], messages: list[str], rounds: int) -> None:
    start = time.perf_counter()
    detector = DangerDetector.from_sources(sources)
    built = time.perf_counter() - start
    per_line, floor = per_message((detector.detect, clean_text), messages, rounds)
    long_message = " ".join(messages)[:1000]
    long, long_floor = per_message((detector.detect, clean_text), [long_message], rounds * 10)
    print(f"time per message ({len(messages)} corpus lines, best of 7 runs of {rounds} rounds):")
    print(f"  building the detector from both locales: {built * 1e3:.1f} ms (once per load)")
    print(
        f"  detect: {per_line * 1e6:.1f} us per corpus line;"
        f" floor (clean_text): {floor * 1e6:.1f} us; ratio {per_line / floor:.1f}x"
    )
    print(
        f"  a 1000-character message: {long * 1e6:.1f} us; floor {long_floor * 1e6:.1f} us;"
        f" ratio {long / long_floor:.1f}x"
    )
    print(
        "  target well under 200 us per typical message:",
        "met" if per_line < 200e-6 else "NOT met",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quiet", action="store_true", help="figures only, no line lists")
    args, _others = parser.parse_known_args()  # ./dev bench passes every script the same
    catalog = load_catalog(ROOT / "locales", "nl")
    detector = catalog.danger_detector
    print("danger detector (bench/safety.py), patterns from locales/*.toml:")
    met = [score(detector, "", lang, args.quiet) for lang in LANGUAGES]
    held = [score(detector, "holdout_", lang, args.quiet) for lang in LANGUAGES]
    # Written after the third round of tuning, before the fourth; never tuned on.
    held_last = [score(detector, "holdout4_", lang, args.quiet) for lang in LANGUAGES]
    recall_met = all(r for r, _ in met)
    alarms_met = all(a for _, a in met)
    print(
        f"  main corpus: recall >= {RECALL_TARGET:.0%} {'met' if recall_met else 'NOT met'};"
        f" false alarms <= {FALSE_ALARM_TARGET:.0%} {'met' if alarms_met else 'NOT met'}"
        f" (hold-out 1: recall {'met' if all(r for r, _ in held) else 'not met'},"
        f" false alarms {'met' if all(a for _, a in held) else 'not met'};"
        f" hold-out 4: recall {'met' if all(r for r, _ in held_last) else 'not met'},"
        f" false alarms {'met' if all(a for _, a in held_last) else 'not met'})"
    )
    sources = {lang: own[DANGER_PATTERNS_KEY] for lang, own in catalog.locales.items()}
    messages = [
        line
        for lang in LANGUAGES
        for kind in ("danger", "neutral")
        for line in phrasings(CORPUS / f"{lang}_{kind}.txt")
    ]
    timing(sources, messages, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
