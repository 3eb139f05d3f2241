"""The adviser's desk tells the truth: `!close` claims no delivery that has not
happened, `!status` drops the reminder to answer once answered, the adviser's own
messages are in the local inbox's thread, and `write … | head -1` ends quietly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.config import load_config
from bot.runtime import Runtime
from bot.texts.catalog import Texts
from tests.conftest import ROOT, run_cli, write_config
from tests.faults import INTAKE, chat
from tests.test_line import Employee, adviser_writes, sent_case


async def test_close_says_the_employee_is_told_once_reachable_and_status_shows_when(
    runtime: Runtime, nl: Texts
):
    employee = Employee(runtime, "alice")
    employee.listen()
    case_ref = await sent_case(employee)
    del runtime.relay.senders["terminal"]  # the employee's chat cannot be reached now
    answer = await adviser_writes(runtime, case_ref, "!close", "$close")
    assert answer is not None
    closed = nl("desk.closed", case_ref=case_ref)
    assert answer.startswith(closed)
    assert "gekregen" not in closed and "zodra de bot" in closed  # nothing claimed yet
    await runtime.relay.deliver_due()
    assert employee.relayed == []
    status = await adviser_writes(runtime, case_ref, "!status", "$s1")
    assert status is not None and "Berichten nog niet afgeleverd: 1" in status

    employee.listen()  # back: the closing note reaches them, and !status says so
    await runtime.relay.deliver_due()
    assert len(employee.relayed) == 1
    status = await adviser_writes(runtime, case_ref, "!status", "$s2")
    assert status is not None and "Berichten nog niet afgeleverd: 0" in status


async def test_status_stops_listing_the_reminder_to_answer_once_the_adviser_answered(
    runtime: Runtime, nl: Texts
):
    employee = Employee(runtime, "alice")
    employee.listen()
    case_ref = await sent_case(employee)
    reminder = nl("desk.timer_reply_reminder")
    before = await adviser_writes(runtime, case_ref, "!status", "$s1")
    assert before is not None and reminder in before
    await adviser_writes(runtime, case_ref, "Shall we talk on Tuesday?", "$m1")
    after = await adviser_writes(runtime, case_ref, "!status", "$s2")
    assert after is not None and reminder not in after
    assert nl("desk.not_yet") not in after.splitlines()[2]  # "Je eerste antwoord: <date>"


def one_case(config: Path) -> str:
    chat(config, "robin", *INTAKE)
    [line] = run_cli(["inbox", "--jsonl", "--config", str(config)]).stdout.splitlines()
    return str(json.loads(line)["case_ref"])


def test_the_advisers_own_messages_appear_in_the_inbox_thread(tmp_path: Path, nl: Texts):
    config = write_config(tmp_path)
    ref = one_case(config)
    wrote = run_cli(["write", ref, "--config", str(config)], stdin="Shall we talk on Tuesday?")
    assert wrote.returncode == 0, wrote.stderr
    status = run_cli(["write", ref, "!status", "--config", str(config)])
    assert status.returncode == 0, status.stderr
    [line] = run_cli(["inbox", "--jsonl", "--config", str(config)]).stdout.splitlines()
    item = json.loads(line)
    adviser = load_config(config, environ={}).adviser(item["adviser_id"]).name
    own = nl("thread.from_adviser", case_ref=ref, adviser=adviser, text="Shall we talk on Tuesday?")
    assert item["thread"] == [own]  # the message, not the command
    shown = run_cli(["inbox", "--config", str(config)]).stdout
    assert "Shall we talk on Tuesday?" in shown and "(vertrouwenspersoon)" in shown


def test_write_into_a_reader_that_stops_early_ends_quietly(tmp_path: Path):
    config = write_config(tmp_path)
    ref = one_case(config)
    vertrouwd = f"{sys.executable} -m bot"
    for reader in ("head -1", "true"):  # `true` reads nothing: the pipe is closed first
        done = subprocess.run(
            [
                "bash",
                "-o",
                "pipefail",
                "-c",
                f"{vertrouwd} write {ref} '!status' --config {config} 2>{tmp_path / 'err'}"
                f" | {reader}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        err = (tmp_path / "err").read_text()
        assert "Traceback" not in err and "BrokenPipeError" not in err, err
        assert done.returncode == 0, err
