"""The line after a handoff, on the embedded default: the employee at the terminal, the
adviser's thread in the local inbox, the real store, workers and clock-driven timers."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.adapters.terminal import TerminalSender
from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.flows.conversation import AFTERCARE_QUESTION
from bot.keys.crypto import UserKeyer, load_or_create_keys
from bot.messages import Reply
from bot.runtime import Runtime, open_runtime
from bot.store.line_records import CLOSED, STOPPED, WITHDRAWN
from bot.texts.catalog import Texts
from tests.conftest import FakeClock, Person, make_config

CANARY = "Canary-7f3e9 happened again in the storeroom"
HOUR = 3600.0
DAY = 86400.0


class Employee(Person):
    """A person at the terminal who also receives what comes in on the line."""

    relayed: list[Reply]

    def listen(self) -> None:
        self.relayed = []

        async def deliver(replies: Sequence[Reply]) -> None:
            self.relayed.extend(replies)

        self.runtime.relay.serve("terminal", TerminalSender(self.user, deliver, True))


async def sent_case(employee: Employee, *, topic: str = "bullying", deliver: bool = True) -> str:
    """A full intake, delivered to the adviser's inbox; returns the case reference."""
    await employee.until_topic()
    await employee.pick(topic)
    await employee.say("My manager shouts at me")
    await employee.say("Robin")
    await employee.pick("chat")
    await employee.pick("evenings")
    await employee.pick("this_week")
    await employee.pick("send")
    case_ref = await employee.runtime.store.open_case(user_key(employee))
    assert case_ref is not None
    if deliver:
        await employee.runtime.worker.deliver_due()  # if the worker has not already
        assert await employee.runtime.store.pending_count() == 0
    return case_ref


def user_key(person: Person) -> bytes:
    keys = load_or_create_keys(person.runtime.config.key_file)
    return UserKeyer(keys)("terminal", person.user)


async def adviser_writes(runtime: Runtime, case_ref: str, text: str, event_id: str) -> str | None:
    """The adviser writes in the case's thread (as the Matrix room or the inbox would)."""
    case = await runtime.store.case(case_ref)
    answer = await runtime.desk.in_thread(case, runtime.config.adviser("adviser-a"), event_id, text)
    return answer.text


async def thread(runtime: Runtime, case_ref: str) -> list[str]:
    await runtime.relay.deliver_due()
    return await runtime.inbox.thread(case_ref)


@pytest.fixture
async def employee(runtime: Runtime) -> Employee:
    person = Employee(runtime, "alice")
    person.listen()
    return person


async def test_the_employee_and_the_adviser_write_to_each_other_in_the_case_thread(
    employee: Employee, runtime: Runtime, en: Texts, nl: Texts
):
    case_ref = await sent_case(employee)
    assert employee.question.text == en("menu.line_open", case_ref=case_ref)

    replies = await employee.say("It happened again today.")
    assert [r.text for r in replies] == [en("line.queued")]  # no question asked again
    assert await thread(runtime, case_ref) == [
        nl(
            "thread.from_employee",
            case_ref=case_ref,
            pseudonym="Robin",
            text="It happened again today.",
        )
    ]

    assert await adviser_writes(runtime, case_ref, "Shall we talk on Tuesday?", "$a1") is None
    await runtime.relay.deliver_due()
    expected = en(
        "line.from_adviser", adviser="Sanne", case_ref=case_ref, text="Shall we talk on Tuesday?"
    )
    assert [r.text for r in employee.relayed] == [expected]

    # The same event seen again (a replayed sync) is not passed on twice.
    await adviser_writes(runtime, case_ref, "Shall we talk on Tuesday?", "$a1")
    await runtime.relay.deliver_due()
    assert len(employee.relayed) == 1

    # The menu on screen still works while the line is open.
    await employee.pick("about")
    assert employee.question.text == en("about.prompt")


async def test_what_the_employee_writes_while_the_homeserver_is_down_waits_unlost(
    tmp_path: Path, en: Texts
):
    (tmp_path / "bot.password").write_text("pw")
    config = make_config(
        tmp_path,
        '[handoff]\nsink = "matrix"\n[matrix]\nhomeserver = "http://127.0.0.1:9"\n'
        'user_id = "@bot:localhost"\npassword_file = "bot.password"\n'
        "request_timeout_seconds = 1.0\n"
        '[[advisers]]\nid = "adviser-a"\nname = "Sanne"\nmatrix_user_id = "@sanne:localhost"\n'
        'room_id = "!room:localhost"\n',
    )
    async with open_runtime(config, FakeClock()) as runtime:
        employee = Employee(runtime, "abe")
        employee.listen()
        case_ref = await sent_case(employee, deliver=False)
        await employee.say("first")
        await employee.say("second")
        assert [r.text for r in employee.replies] == [en("line.queued")]
        await runtime.worker.deliver_due()
        await runtime.relay.deliver_due()
        assert await runtime.store.pending_count() == 1  # the handoff waits...
        info = await runtime.store.case(case_ref)
        assert info is not None and info.unsent_relays == 2  # ...and so do both messages


async def test_a_relay_that_cannot_reach_the_employee_waits_and_is_sent_once_they_are_back(
    runtime: Runtime, clock: FakeClock, en: Texts
):
    employee = Employee(runtime, "bea")
    case_ref = await sent_case(employee)
    await adviser_writes(runtime, case_ref, "Are you there?", "$b1")
    await runtime.relay.deliver_due()  # nobody at the terminal: it waits
    info = await runtime.store.case(case_ref)
    assert info is not None and info.unsent_relays == 1
    employee.listen()
    clock.advance(3600)
    await runtime.relay.deliver_due()
    assert [r.text for r in employee.relayed] == [
        en("line.from_adviser", adviser="Sanne", case_ref=case_ref, text="Are you there?")
    ]


async def test_stop_closes_the_line_and_the_adviser_hears_of_it(
    employee: Employee, runtime: Runtime, en: Texts, nl: Texts
):
    case_ref = await sent_case(employee)
    assert await runtime.store.line_counts() == (1, 0)  # one open line, nothing waiting
    await employee.say("/stop")
    assert employee.texts == [en("stop.confirm", case_ref=case_ref)]  # asked first
    assert await runtime.store.line_counts() == (1, 0)
    await employee.pick("yes")
    assert employee.texts[0] == en("line.stopped", case_ref=case_ref)
    assert employee.question.text == en("menu.prompt")
    assert await thread(runtime, case_ref) == [nl("thread.stopped", case_ref=case_ref)]
    assert await runtime.store.line_counts() == (0, 0)

    answer = await adviser_writes(runtime, case_ref, "Hello?", "$s1")
    assert answer == nl("desk.case_ended", case_ref=case_ref, status=nl("desk.status_stopped"))
    await runtime.relay.deliver_due()
    assert employee.relayed == []

    # Typed text no longer goes anywhere; the person is thanked and shown the way.
    await employee.say("one more thing")
    assert employee.texts[0] == en("menu.told", option=en("menu.intake"))
    assert await thread(runtime, case_ref) == [nl("thread.stopped", case_ref=case_ref)]
    info = await runtime.store.case(case_ref)
    assert info is not None and info.status == STOPPED


async def test_the_adviser_closes_the_case_and_the_employee_is_told(
    employee: Employee, runtime: Runtime, en: Texts, nl: Texts
):
    case_ref = await sent_case(employee)
    answer = await adviser_writes(runtime, case_ref, "!close", "$c1")
    assert answer is not None
    assert answer.split("\n\n")[:2] == [nl("desk.closed", case_ref=case_ref), nl("register.intro")]
    await runtime.relay.deliver_due()
    assert [r.text for r in employee.relayed] == [
        en("line.closed_by_adviser", adviser="Sanne", case_ref=case_ref)
    ]
    info = await runtime.store.case(case_ref)
    assert info is not None and info.status == CLOSED and info.pending_timers == ()
    await employee.say("thanks")
    assert employee.texts[0] == en("input.not_understood")


async def test_the_adviser_gets_a_notice_for_a_thread_or_command_that_does_not_work(
    employee: Employee, runtime: Runtime, en: Texts, nl: Texts
):
    case_ref = await sent_case(employee)
    adviser = runtime.config.adviser("adviser-a")
    unknown = await runtime.desk.in_thread(None, adviser, "$w1", "Hello")
    assert unknown.text == nl("desk.unknown_thread")
    assert await adviser_writes(runtime, case_ref, "!frobnicate", "$w2") == (
        nl("desk.unknown_command") + "\n\n" + nl("desk.help")
    )
    assert await adviser_writes(runtime, case_ref, "!checkin someday", "$w3") == nl(
        "desk.checkin_invalid", max=365
    )
    status = await adviser_writes(runtime, case_ref, "!status", "$w4")
    assert status is not None and status.startswith(f"Zaak {case_ref}: {nl('desk.status_open')}")
    assert nl("desk.timer_reply_reminder") in status
    await runtime.relay.deliver_due()
    assert employee.relayed == []  # none of it reached the employee


async def test_a_checkin_fires_once_across_a_restart_and_the_employee_can_answer(
    tmp_path: Path, en: Texts, nl: Texts
):
    config = make_config(tmp_path)
    clock = FakeClock()
    async with open_runtime(config, clock) as runtime:
        employee = Employee(runtime, "carla")
        employee.listen()
        case_ref = await sent_case(employee)
        planned = await adviser_writes(runtime, case_ref, "!checkin 2h", "$k1")
        # Two hours after 16:13 UTC, in Amsterdam time.
        assert planned == nl("desk.checkin_planned", case_ref=case_ref, date="2026-09-21 18:13")
        await adviser_writes(runtime, case_ref, "!checkin 2h", "$k1")  # replayed: one check-in
        await runtime.timers.fire_due()
        await runtime.relay.deliver_due()
        assert employee.relayed == []  # not due yet
    clock.advance(2 * HOUR + 1)
    for _restart in range(2):
        async with open_runtime(config, clock) as runtime:
            employee = Employee(runtime, "carla")
            employee.listen()
            await runtime.timers.fire_due()
            await runtime.relay.deliver_due()
            checkins = [r for r in employee.relayed if r.question == AFTERCARE_QUESTION]
            if _restart == 0:
                assert len(checkins) == 1
                assert checkins[0].text == en(
                    "aftercare.checkin", adviser="Sanne", case_ref=case_ref
                )
                # Three answers: "fine" and "close the chat" are not one button.
                assert [c.id for c in checkins[0].choices] == ["talk", "open", "close"]
                await employee.pick("open", question=AFTERCARE_QUESTION)
                assert employee.texts[0] == en("aftercare.kept_open")
                await employee.pick("talk", question=AFTERCARE_QUESTION)
                assert employee.texts[0] == en("aftercare.talk_sent")
                assert await thread(runtime, case_ref) == [
                    nl("thread.checkin_sent", case_ref=case_ref),
                    nl("thread.talk_again", case_ref=case_ref),
                ]
            else:
                assert checkins == []  # fired once, not again after the restart


async def test_the_adviser_is_reminded_of_a_handoff_left_unanswered(tmp_path: Path, nl: Texts):
    config = make_config(tmp_path)
    clock = FakeClock()  # a Monday afternoon
    async with open_runtime(config, clock) as runtime:
        quiet, answered = Employee(runtime, "dana"), Employee(runtime, "eli")
        quiet_case = await sent_case(quiet)
        answered_case = await sent_case(answered)
        await adviser_writes(runtime, answered_case, "I will call you tomorrow.", "$r1")
        clock.advance(2 * DAY - 60)
        await runtime.timers.fire_due()
        assert await thread(runtime, quiet_case) == []
        clock.advance(120)  # two working days later, Wednesday
        await runtime.timers.fire_due()
        reminder = nl("thread.reply_reminder", case_ref=quiet_case, days=2)
        assert await thread(runtime, quiet_case) == [reminder]
        assert await thread(runtime, answered_case) == []
        clock.advance(DAY)
        await runtime.timers.fire_due()
        assert await thread(runtime, quiet_case) == [reminder]  # once


async def test_working_days_skip_the_weekend(tmp_path: Path):
    config = make_config(tmp_path)
    clock = FakeClock(1_790_000_000.0 + 4 * DAY)  # Friday afternoon
    async with open_runtime(config, clock) as runtime:
        case_ref = await sent_case(Employee(runtime, "fay"))
        clock.advance(3 * DAY)  # Monday: one working day
        await runtime.timers.fire_due()
        assert await thread(runtime, case_ref) == []
        clock.advance(1 * DAY)  # Tuesday: two
        await runtime.timers.fire_due()
        assert len(await thread(runtime, case_ref)) == 1


async def test_an_integrity_intake_is_no_report_the_terms_run_from_the_recorded_report(
    tmp_path: Path, en: Texts, nl: Texts
):
    config = make_config(tmp_path)
    clock = FakeClock()  # Monday 2026-09-21 14:13 UTC, 16:13 in Amsterdam
    async with open_runtime(config, clock) as runtime:
        employee = Employee(runtime, "gus")
        employee.listen()
        case_ref = await sent_case(employee, topic="integrity")
        info = await runtime.store.case(case_ref)
        assert info is not None
        # A confidential talk is not a report: no whistleblower reminders yet.
        assert {timer.kind for timer in info.pending_timers} == {"reply_reminder"}

        answer = await adviser_writes(runtime, case_ref, "!melding 2026-09-21", "$g1")
        assert answer == nl(
            "desk.report_recorded",
            case_ref=case_ref,
            date="2026-09-21",
            ack="2026-09-28",
            feedback="2026-12-28",
        )
        assert await adviser_writes(runtime, case_ref, "!melding morgen", "$g0") == nl(
            "desk.report_invalid"
        )
        # The employee ends the chat: the organisation's terms still run.
        await employee.say("stop")
        await employee.pick("yes")
        clock.advance(5 * DAY)  # Saturday 26 September: two days before the 7 days end
        await runtime.timers.fire_due()
        assert (await thread(runtime, case_ref))[-1] == nl(
            "thread.ack_reminder", case_ref=case_ref, days=7, date="2026-09-28 09:00"
        )
        # Receipt confirmed on 25 September: the 3 months count from there.
        answer = await adviser_writes(runtime, case_ref, "!ontvangst 25-09-2026", "$g2")
        assert answer == nl(
            "desk.receipt_recorded", case_ref=case_ref, date="2026-09-25", feedback="2026-12-25"
        )
        clock.advance(76 * DAY)  # 11 December, 14 days before the feedback is due
        await runtime.timers.fire_due()
        assert (await thread(runtime, case_ref))[-1] == nl(
            "thread.feedback_reminder", case_ref=case_ref, months=3, date="2026-12-25 09:00"
        )


async def test_delete_withdraws_the_case_and_leaves_no_trace_of_the_person(
    employee: Employee, runtime: Runtime, config: Config, en: Texts, nl: Texts
):
    case_ref = await sent_case(employee)
    await employee.say(CANARY)
    await adviser_writes(runtime, case_ref, "!checkin 14", "$d0")
    del runtime.relay.senders["terminal"]  # the employee's chat is closed for a while
    await adviser_writes(runtime, case_ref, "Not delivered before the delete", "$d1")
    await employee.say("/delete")
    await employee.pick("yes")
    assert employee.texts == [en("delete.done")]
    texts = await thread(runtime, case_ref)
    assert texts[-1] == nl("thread.withdrawn", case_ref=case_ref)
    assert employee.relayed == []  # the adviser's unsent message died with the link

    answer = await adviser_writes(runtime, case_ref, "Hello?", "$d2")
    assert answer == nl("desk.case_ended", case_ref=case_ref, status=nl("desk.status_withdrawn"))
    info = await runtime.store.case(case_ref)
    assert info is not None and info.status == WITHDRAWN and info.pending_timers == ()

    owner = user_key(employee)
    with sqlite3.connect(config.bot.data_dir / STORE_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM conversations").fetchone() == (0,)
        assert db.execute(
            "SELECT owner_key, sealed FROM cases WHERE case_ref = ?", (case_ref,)
        ).fetchone() == (None, None)
        assert db.execute("SELECT COUNT(*) FROM timers").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM relays WHERE sealed IS NOT NULL").fetchone() == (0,)
    for path in config.bot.data_dir.glob("vertrouwd.sqlite3*"):
        content = path.read_bytes()
        assert owner not in content, path.name
        assert CANARY.encode() not in content, path.name
    await employee.say("hello")
    assert employee.texts[0] == en("intro.text", organisation="Stichting Voorbeeld")


async def test_retention_purges_exactly_what_has_expired(tmp_path: Path, en: Texts, nl: Texts):
    config = make_config(
        tmp_path, "[retention]\nclosed_case_days = 30\nidle_line_days = 60\naudit_days = 90\n"
    )
    clock = FakeClock()
    async with open_runtime(config, clock) as runtime:
        assert runtime.retention is not None
        store = runtime.store
        closed_case = await sent_case(Employee(runtime, "hana"))
        ivo = Employee(runtime, "ivo")
        ivo.listen()
        open_case = await sent_case(ivo)
        await store.record_text_change("@admin:x", "en", "help.text", "old", "new", clock())
        await adviser_writes(runtime, closed_case, "!close", "$p1")

        clock.advance(30 * DAY - 60)
        await runtime.retention.purge()
        assert (linked(runtime, closed_case), linked(runtime, open_case)) == (True, True)

        clock.advance(120)
        await runtime.retention.purge()
        assert (linked(runtime, closed_case), linked(runtime, open_case)) == (False, True)
        assert await store.case(closed_case) is None  # with nothing to redact, all of it goes
        assert await store.delivered_handoff(closed_case) is None

        clock.advance(30 * DAY)  # the open line has been silent for 60 days
        await runtime.retention.purge()
        info = await store.case(open_case)
        assert info is not None and info.status == CLOSED
        # Both sides hear that the silent line was closed.
        assert await thread(runtime, open_case) == [
            nl("thread.reply_reminder", case_ref=open_case, days=2),
            nl("thread.closed_idle", case_ref=open_case),
        ]
        assert [r.text for r in ivo.relayed] == [
            en("line.closed_idle", adviser="Sanne", case_ref=open_case, days=60)
        ]
        assert "for 60 days" in ivo.relayed[0].text  # how long, not "a long time"

        assert len(await store.text_changes("help.text")) == 1
        clock.advance(30 * DAY)  # the audit entry is 90 days old
        await runtime.retention.purge()
        assert await store.text_changes("help.text") == []
        clock.advance(60)  # the silent line was closed 30 days ago
        await runtime.retention.purge()
        assert linked(runtime, open_case) is False


def linked(runtime: Runtime, case_ref: str) -> bool:
    """Whether the case still leads to a person."""
    with sqlite3.connect(runtime.config.bot.data_dir / STORE_FILE) as db:
        row = db.execute("SELECT owner_key FROM cases WHERE case_ref = ?", (case_ref,)).fetchone()
    return row is not None and row[0] is not None


async def test_the_line_outlives_the_expired_conversation(
    employee: Employee, runtime: Runtime, clock: FakeClock, en: Texts
):
    case_ref = await sent_case(employee)
    clock.advance(73 * HOUR)  # the conversation itself expires after 72 idle hours
    assert runtime.retention is not None
    await runtime.retention.purge()
    assert await runtime.store.conversation_count() == 0
    await employee.say("Still there?")
    await employee.say("It got worse.")
    assert employee.texts == [en("line.queued")]
    texts = await thread(runtime, case_ref)
    assert [t.rsplit("\n", 1)[-1] for t in texts[-2:]] == ["Still there?", "It got worse."]
