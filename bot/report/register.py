"""The adviser's registration: a few optional questions, answered by number or in words.

Pure: no I/O. The state is a small dict (which questions, which one is asked, the
answers so far as codes), stored sealed between the adviser's messages and turned into
counts at the end. Words are matched against the choices' texts in every language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.texts.catalog import Texts

CASE = "case"  # a case that came through the bot, registered at or after closing
OUTSIDE = "outside"  # a walk-in, a call or an e-mail, added with !register

# Fixed choices per question; "topics" are the organisation's intake topics.
CHOICES: dict[str, tuple[str, ...]] = {
    "channel": ("in_person", "phone", "email", "other"),
    "kind": ("melding", "klacht", "signaal"),
    "routes": (
        "listening",
        "informal_talk",
        "mediation",
        "referral_company_doctor",
        "referral_psychologist",
        "referral_legal",
        "referral_police",
        "referral_other",
        "formal_complaint",
        "police_report",
        "aftercare",
    ),
    "source": ("colleague", "manager", "client", "other", "not_said"),
    "repeated": ("yes", "no"),
}
MULTIPLE = frozenset({"routes", "topics"})
QUESTIONS = {
    CASE: ("kind", "routes", "source", "topics", "repeated"),
    OUTSIDE: ("channel", "kind", "routes", "source", "topics", "repeated"),
}
# The report's dimension for each question's answers.
DIMENSION = {
    "channel": "outside_channel",
    "kind": "kind",
    "routes": "route",
    "source": "source",
    "topics": "registered_topic",
    "repeated": "repeated",
}
NOT_ANSWERED = "none"

_SKIP = {"-", "skip", "overslaan", "sla over", "pass", "geen", "none", "weet niet", "n/a"}
_STOP = {"stop", "klaar", "done", "einde", "end", "!stop", "!klaar", "!done"}
_PARTS = re.compile(r"\s*(?:[,;/+]|\s(?:en|and|&)\s)\s*")


@dataclass(frozen=True)
class Turn:
    """What an answer did: the state now, whether it was understood, whether all is asked."""

    state: dict[str, object]
    understood: bool
    done: bool = False


def new_state(source: str) -> dict[str, object]:
    return {"source": source, "asked": 0, "answers": {}}


def questions(state: dict[str, object]) -> tuple[str, ...]:
    return QUESTIONS[str(state["source"])]


def current(state: dict[str, object]) -> str:
    return questions(state)[int(str(state["asked"]))]


def choices_of(question: str, topics: Sequence[str]) -> tuple[str, ...]:
    return tuple(topics) if question == "topics" else CHOICES[question]


def choice_text(question: str, choice: str, t: Texts) -> str:
    return t(f"topic.{choice}") if question == "topics" else t(f"register_choice.{choice}")


def question_text(state: dict[str, object], t: Texts, topics: Sequence[str]) -> str:
    """The question now asked, with its numbered choices and how to answer."""
    question = current(state)
    number = int(str(state["asked"])) + 1
    lines = [
        t(
            "register.question_head",
            number=number,
            total=len(questions(state)),
            question=t(f"register.q_{question}"),
        )
    ]
    for index, choice in enumerate(choices_of(question, topics), start=1):
        lines.append(f"{index}. {choice_text(question, choice, t)}")
    lines.append(t("register.hint_several" if question in MULTIPLE else "register.hint_one"))
    return "\n".join(lines)


def _names(question: str, choice: str, languages: Sequence[Texts]) -> set[str]:
    names = {choice.replace("_", " "), choice}
    for t in languages:
        names.add(choice_text(question, choice, t).casefold())
    return names


def parse(
    text: str, question: str, topics: Sequence[str], languages: Sequence[Texts]
) -> list[str] | None:
    """The choices an answer names (empty: skipped), or None if it is unclear."""
    answer = " ".join(text.casefold().split()).strip(" .!")
    choices = choices_of(question, topics)
    if answer in _SKIP or not answer:
        return []
    picked = []
    for part in filter(None, _PARTS.split(answer)):
        # Numbers and words may be mixed: "2 mediation", "1, 3", "luisteren 3".
        tokens = part.replace(",", " ").replace(";", " ").split()
        for number in (int(t) for t in tokens if t.isdigit()):
            if not 1 <= number <= len(choices):
                return None
            picked.append(choices[number - 1])
        words = " ".join(t for t in tokens if not t.isdigit()).strip(" .")
        if words:
            match = _match(words, question, choices, languages)
            if match is None:
                return None
            picked.append(match)
    picked = list(dict.fromkeys(picked))
    if question not in MULTIPLE and len(picked) != 1:
        return None
    return picked


def _match(
    part: str, question: str, choices: Sequence[str], languages: Sequence[Texts]
) -> str | None:
    named = {choice: _names(question, choice, languages) for choice in choices}
    exact = [c for c, names in named.items() if part in names]
    if len(exact) == 1:
        return exact[0]
    # A word of a choice's text ("mediation", "collega", "police"), or its start.
    words = [
        c
        for c, names in named.items()
        if any(
            w == part or (len(part) >= 4 and w.startswith(part))
            for name in names
            for w in re.split(r"[\s,()/:.-]+", name)
        )
    ]
    if len(set(words)) == 1:
        return words[0]
    # A part of a choice's text: "company doctor", "formele klacht".
    inside = {c for c, names in named.items() if len(part) >= 4 and any(part in n for n in names)}
    return inside.pop() if len(inside) == 1 else None


def answer(
    state: dict[str, object], text: str, topics: Sequence[str], languages: Sequence[Texts]
) -> Turn:
    """Take the answer to the question now asked; ``stop`` skips the rest."""
    if " ".join(text.casefold().split()) in _STOP:
        return Turn(state, True, done=True)
    question = current(state)
    picked = parse(text, question, topics, languages)
    if picked is None:
        return Turn(state, False)
    answers = dict(state["answers"])  # type: ignore[call-overload]
    answers[question] = picked
    asked = int(str(state["asked"])) + 1
    following = {**state, "asked": asked, "answers": answers}
    return Turn(following, True, done=asked >= len(questions(state)))


def answered(state: dict[str, object]) -> list[tuple[str, str]]:
    """(dimension, value) pairs of a finished registration; a question left out or
    skipped counts as not answered, so every question's counts add up to the same total."""
    given: dict[str, list[str]] = dict(state["answers"])  # type: ignore[call-overload]
    pairs = [("registered", str(state["source"]))]
    for question in questions(state):
        picked = given.get(question) or [NOT_ANSWERED]
        pairs += [(DIMENSION[question], value) for value in picked]
    return pairs
