"""The terminal channel as a real process: crashes, restarts, logs and files on disk."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from bot.texts.catalog import Texts
from tests.conftest import asked, bot_messages, jsonl, run_cli, write_config
from tests.jsonl_session import JsonlSession

CANARY = "QuokkaCanary7731"

INTAKE = [
    {"text": "hello"},
    {"choice": "intake"},
    {"choice": "agree"},
    {"choice": "adviser-b"},
    {"choice": "no"},
    {"text": "sexual harassment or other crossing of boundaries"},
    {"text": f"My colleague {CANARY} keeps touching my shoulder"},
    {"text": f"Nick {CANARY}"},
    {"choice": "email"},
    {"text": f"{CANARY.lower()}@example.nl"},
    {"choice": "message_ok"},
    {"text": f"Tuesdays, ask for {CANARY}"},
    {"choice": "today"},
    {"choice": "send"},
]


def inbox(config: Path) -> list[dict]:
    result = run_cli(["inbox", "--jsonl", "--config", str(config)])
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def files_containing(folder: Path, needle: str) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if needle.encode() in data or needle.lower().encode() in data:
                hits.append(path.name)
    return hits


def test_killed_between_any_two_messages_the_intake_resumes_and_is_delivered_once(
    tmp_path: Path, en: Texts
):
    config = write_config(tmp_path)
    questions = []
    for message in INTAKE:
        session = JsonlSession(config, "resumer")
        replies = session.send(message)
        questions.append(replies[-1]["text"])
        session.kill()
    # Each answer moved the conversation on, as in one uninterrupted session.
    assert questions[4] == asked(en, "topic.prompt")
    assert questions[5] == asked(en, "description.prompt", max=1000)
    assert questions[9] == asked(en, "contact_safe.prompt_email")
    assert questions[10] == asked(en, "reachable.prompt")
    assert questions[12].startswith(en("review.intro"))
    # Killed right after confirming: the handoff is delivered on the next start, once.
    JsonlSession(config, "someone-else").close()
    JsonlSession(config, "someone-else").close()
    [handoff] = inbox(config)
    answers = handoff["handoff"]["answers"]
    assert answers["adviser"] == "adviser-b"
    assert answers["topic"] == "sexual_harassment"
    assert answers["contact_detail"] == f"{CANARY.lower()}@example.nl"
    assert handoff["urgent"] is False


def test_restart_resumes_at_the_same_question_with_the_answers_so_far(tmp_path: Path, en: Texts):
    config = write_config(tmp_path)
    first = JsonlSession(config, "pat")
    for message in INTAKE[:5]:
        first.send(message)
    first.kill()
    second = JsonlSession(config, "pat")
    replies = second.send({"text": "?!"})  # not an answer: the same question again
    assert [r["text"] for r in replies] == [en("input.not_understood"), asked(en, "topic.prompt")]
    for message in INTAKE[5:13]:
        replies = second.send(message)
    review = replies[-1]["text"]
    assert review.startswith(en("review.intro"))
    assert "Adviser: Karim" in review and "In danger: No" in review
    second.close()


def assert_json_lines(logs: str, case_ref: str) -> None:
    """One JSON object per line, and the lines about the case name it in a field."""
    entries = [json.loads(line) for line in logs.splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    about_case = [e for e in entries if case_ref in e["message"]]
    assert about_case and all(e["case_ref"] == case_ref for e in about_case)
    assert {"DEBUG", "INFO"} <= {e["level"] for e in entries}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_canary_in_every_free_text_answer_never_reaches_logs_or_files(
    tmp_path: Path, log_format: str
):
    config = write_config(tmp_path)
    data_dir = tmp_path / "data"
    session = JsonlSession(config, "canary-person", log_level="DEBUG", log_format=log_format)
    for message in INTAKE:
        session.send(message)
    # Killed, so the write-ahead log and shared-memory files are left as they were.
    logs = session.kill()
    assert {"vertrouwd.sqlite3-wal", "vertrouwd.sqlite3"} <= {p.name for p in data_dir.iterdir()}
    assert files_containing(data_dir, CANARY) == []
    session = JsonlSession(config, "canary-person", log_level="DEBUG", log_format=log_format)
    session.send({"text": f"one more thing: {CANARY}"})
    logs += session.close()
    assert "DEBUG" in logs and "handoff" in logs  # logging really was on
    assert CANARY.lower() not in logs.lower()
    assert files_containing(data_dir, CANARY) == []

    [handoff] = inbox(config)
    if log_format == "json":
        assert_json_lines(logs, handoff["case_ref"])
    rendered = handoff["text"]
    assert rendered.count(CANARY) == 3 and CANARY.lower() in rendered
    # The key file is readable by its owner only, the data folder likewise.
    assert stat.S_IMODE((data_dir / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_jsonl_interface_answers_bad_lines_calmly_and_carries_on(tmp_path: Path, en: Texts):
    config = write_config(tmp_path)
    stdin = "not json\n" + '["a list"]\n' + '{"text": 5}\n' + '{"text": "a", "choice": "b"}\n'
    stdin += jsonl({"text": "hi"}, {"media": "photo"})
    result = run_cli(["chat", "--jsonl", "--config", str(config), "--lang", "en"], stdin=stdin)
    assert result.returncode == 0, result.stderr
    messages = bot_messages(result.stdout)
    errors = [m for m in messages if "error" in m]
    assert len(errors) == 4
    assert messages.count({"waiting": True}) == 6
    texts = [m.get("text") for m in messages]
    assert en("input.unsupported") in texts
    assert "Traceback" not in result.stderr


def test_inbox_shows_urgent_handoffs_first_with_every_answer(tmp_path: Path, en: Texts):
    config = write_config(tmp_path)
    calm = JsonlSession(config, "calm")
    for message in INTAKE:
        calm.send(message)
    calm.close()
    urgent = JsonlSession(config, "urgent")
    for message in [*INTAKE[:4], {"choice": "yes"}, {"choice": "go_on"}, *INTAKE[5:]]:
        urgent.send(message)
    urgent.close()
    result = run_cli(["inbox", "--config", str(config)])
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("-" * 60)[:2]
    nl_title = "DRINGEND"  # adviser-b reads Dutch
    assert first.lstrip().startswith(nl_title)
    assert not second.lstrip().startswith(nl_title)
    for text in (first, second):
        assert "Toestemming: gegeven op" in text and "tekstversie en-" in text
        assert f"Beschrijving: My colleague {CANARY}" in text
        assert "Zaaknummer:" in text


def test_a_person_in_the_terminal_sees_numbered_choices_and_answers_by_number(
    tmp_path: Path, en: Texts
):
    config = write_config(tmp_path)
    result = run_cli(
        ["chat", "--config", str(config), "--lang", "en", "--user", "kim"], stdin="1\n2\n"
    )
    assert result.returncode == 0, result.stderr
    screen = result.stdout
    assert en("intro.text", organisation="Stichting Voorbeeld") in screen
    assert f"  1. {en('menu.intake')}\n  2. {en('menu.help_now')}" in screen
    assert f"  1. {en('consent.agree')}\n  2. {en('consent.disagree')}" in screen
    assert en("consent.refused") in screen
    # Coming back later: the bot greets and shows where we were.
    again = run_cli(["chat", "--config", str(config), "--user", "kim"], stdin="")
    assert en("resume.welcome_back") in again.stdout
    assert en("menu.prompt") in again.stdout


def test_the_adviser_answers_from_the_local_inbox_and_the_employee_reads_it_in_the_chat(
    tmp_path: Path, en: Texts, nl: Texts
):
    config = write_config(tmp_path)
    session = JsonlSession(config, "lina")
    by_chat = [
        {"choice": "chat"} if m == {"choice": "email"} else m
        for m in INTAKE
        if not str(m.get("text", "")).startswith(CANARY.lower()) and m != {"choice": "message_ok"}
    ]
    for message in by_chat:
        replies = session.send(message)
    case_ref = next(iter(inbox(config)))["case_ref"]
    assert replies[-1]["text"] == en("menu.line_open", case_ref=case_ref)

    assert session.send({"text": "It was on Friday"}) == [
        {"text": en("line.queued"), "choices": []}
    ]
    from_lina = nl(
        "thread.from_employee",
        case_ref=case_ref,
        pseudonym=f"Nick {CANARY}",
        text="It was on Friday",
    )
    for _ in range(100):
        if inbox(config)[0]["thread"]:
            break
        time.sleep(0.05)
    assert inbox(config)[0]["thread"] == [from_lina]

    # The adviser's text from standard input: never in the process list (ps, /proc).
    written = run_cli(
        ["write", "--config", str(config), case_ref], stdin="Thank you, I will call you\n"
    )
    assert written.stdout.strip() == nl("desk.passed_on"), written.stderr
    relayed = session.read_unprompted(timeout=15)
    assert relayed["text"] == en(
        "line.from_adviser", adviser="Karim", case_ref=case_ref, text="Thank you, I will call you"
    )
    status = run_cli(["write", "--config", str(config), case_ref, "!status"])
    assert status.stdout.startswith(f"Zaak {case_ref}: open"), status.stderr
    unknown = run_cli(["write", "--config", str(config), "ZZZZ-ZZZZ", "hello"])
    assert unknown.returncode == 1
    assert unknown.stdout.strip() == nl("desk.unknown_thread")
    session.close()
