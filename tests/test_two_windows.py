"""Two windows on one person: two real `vertrouwd chat --jsonl` processes, one data dir."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.texts.catalog import Texts
from tests.conftest import run_cli, write_config
from tests.jsonl_session import JsonlSession

ROUNDS = 50
CASE_REF = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")
# From the menu to the review; the first round starts with a greeting.
TO_REVIEW = [
    {"choice": "intake"},
    {"choice": "agree"},
    {"choice": "adviser-a"},
    {"choice": "no"},
    {"text": "bullying"},
    {"text": "My manager shouts at me in meetings"},
    {"text": "Robin"},
    {"choice": "email"},
    {"text": "robin@example.nl"},
    {"choice": "message_ok"},
    {"text": "Tuesdays"},
    {"choice": "today"},
]


def test_both_windows_press_send_together_and_the_adviser_gets_one_request(
    tmp_path: Path, en: Texts
):
    config = write_config(tmp_path)
    # One after the other: the first start creates the database (two first starts at
    # once are the subject of another issue).
    first = JsonlSession(config, "twin", log_level="WARNING")
    first.send({"text": "hello"})
    windows = [first, JsonlSession(config, "twin", log_level="WARNING")]
    try:
        cases = press_send_together(windows, en)
    except BaseException:
        for window in windows:
            window.kill()
        raise
    logs = [window.close() for window in windows]

    result = run_cli(["inbox", "--jsonl", "--config", str(config)])
    assert result.returncode == 0, result.stderr
    delivered = [json.loads(line)["handoff"]["case_ref"] for line in result.stdout.splitlines()]
    assert sorted(delivered) == sorted(cases) and len(set(cases)) == ROUNDS
    assert not any("Traceback" in log or "ERROR" in log for log in logs), logs


def press_send_together(windows: list[JsonlSession], en: Texts) -> list[str]:
    """Round after round, both windows press "send" on the same review at once; returns
    the case reference each round sent."""
    cases: list[str] = []
    for round_number in range(ROUNDS):
        # Each window in turn fills in the request; the other shows the same review.
        driver = windows[round_number % 2]
        for message in TO_REVIEW:
            review = driver.send(message)[-1]
        assert review["text"].startswith(en("review.intro"))
        press = {"choice": "send", "question": review["question"]}
        for window in windows:
            window.press(press)
        answers = [window.replies() for window in windows]

        firsts = [replies[0]["text"] for replies in answers]
        refs = {match.group() for text in firsts for match in CASE_REF.finditer(text)}
        assert len(refs) == 1, f"round {round_number}: {firsts}"  # one request, both windows
        case_ref = refs.pop()
        # One window sent it; the other is told, calmly, that it already went.
        told = en("already_sent.text", case_ref=case_ref)
        assert firsts.count(told) == 1, f"round {round_number}: {firsts}"
        [sent] = [text for text in firsts if text != told]
        assert sent.startswith(en("sent.text", case_ref=case_ref, days="@").split("\n")[0])
        cases.append(case_ref)
        # Both windows are at the same open question again: the menu.
        assert answers[0][-1]["question"] == answers[1][-1]["question"]
    return cases
