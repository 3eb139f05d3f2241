"""The line in the adviser's Matrix room, on the throwaway Synapse.

An employee on (fake) Telegram and the adviser in Element-like threads write to each
other through the bot, across restarts of `vertrouwd run`; reminders, /delete and
redaction reach the case's thread, and nothing identifies the employee there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bot.channels import serve
from bot.config import Config, load_config
from bot.runtime import Runtime, open_runtime
from bot.texts.catalog import Texts
from tests.conftest import FakeClock
from tests.fake_telegram import FakeTelegram, Person
from tests.matrix_people import MatrixPerson
from tests.matrix_world import World
from tests.telegram_harness import BotProcess, Chat, telegram_section, until
from tests.test_line import Employee

CASE_REF = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
DAY = 86400.0


def in_thread(content: dict[str, object], root: str) -> bool:
    relation = content.get("m.relates_to") or {}
    assert isinstance(relation, dict)
    return relation.get("rel_type") == "m.thread" and relation.get("event_id") == root


def bodies_in_thread(adviser: MatrixPerson, root: str) -> list[str]:
    events = [*adviser.text_events, *adviser.notice_events]
    events.sort(key=lambda event: event.server_timestamp)
    return [e.body for e in events if in_thread(e.source["content"], root)]


async def telegram_intake(chat: Chat) -> str:
    await chat.say("hi")
    await chat.press("intake")
    await chat.press("agree")
    await chat.press("no")
    await chat.press("bullying")
    await chat.say("The team lead mocks my accent")
    await chat.say("Robin")
    await chat.press("chat")
    await chat.press("evenings")
    await chat.press("this_week")
    await chat.press("send")
    match = CASE_REF.search(chat.texts()[0])
    assert match, chat.texts()
    return match.group()


def telegram_texts(fake: FakeTelegram, person: Person) -> list[str]:
    return [m["text"] for m in fake.bot_messages_to(person.id)]


async def test_a_telegram_employee_and_the_adviser_talk_in_the_thread_across_restarts(
    world: World, fake: FakeTelegram, tmp_path: Path, en: Texts
):
    config_file = tmp_path / "config.toml"
    config_file.write_text(world.config_text() + telegram_section(tmp_path, fake, ""))
    room, adviser = world.room_id, world.adviser
    bot = BotProcess(config_file)
    await bot.start()
    person = Person(5_551_077, "Firstname-Canary", language_code="en")
    chat = Chat(fake, bot, person)
    case_ref = await telegram_intake(chat)
    await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
    root = adviser.text_events[0].event_id

    await chat.say("It happened again today")
    assert chat.texts() == [en("line.queued")]
    from_robin = en(
        "thread.from_employee", case_ref=case_ref, pseudonym="Robin", text="It happened again today"
    )
    await adviser.until_seen(room, lambda a: from_robin in bodies_in_thread(a, root))

    await adviser.send_text(room, "Shall we talk on Tuesday?", thread_root=root)
    tuesday = en(
        "line.from_adviser", adviser="Anna", case_ref=case_ref, text="Shall we talk on Tuesday?"
    )
    await until(lambda: tuesday in telegram_texts(fake, person), timeout=30)
    code, logged_first = await bot.stop()
    assert code == 0, logged_first

    # While the bot is down, both sides write.
    await adviser.send_text(room, "Or Wednesday?", thread_root=root)
    fake.send_text(person, "Wednesday is better")
    restarted = BotProcess(config_file)
    await restarted.start()
    chat.bot = restarted
    wednesday = en("line.from_adviser", adviser="Anna", case_ref=case_ref, text="Or Wednesday?")
    await until(lambda: wednesday in telegram_texts(fake, person), timeout=30)
    better = en(
        "thread.from_employee", case_ref=case_ref, pseudonym="Robin", text="Wednesday is better"
    )
    await adviser.until_seen(room, lambda a: better in bodies_in_thread(a, root))
    code, logged_second = await restarted.stop()
    assert code == 0, logged_second

    # A third start delivers nothing twice.
    again = BotProcess(config_file)
    await again.start()
    await asyncio.sleep(3)
    await adviser.collect(room, 2.0, want=1000)
    code, logged_third = await again.stop()
    assert code == 0, logged_third
    assert telegram_texts(fake, person).count(tuesday) == 1
    assert telegram_texts(fake, person).count(wednesday) == 1
    assert bodies_in_thread(adviser, root).count(better) == 1
    assert bodies_in_thread(adviser, root).count(from_robin) == 1

    # The employee blocks the bot: the adviser's next message cannot arrive, and the
    # thread says so once instead of the bot retrying for ever.
    fake.blocked_by.add(person.id)
    final = BotProcess(config_file)
    await final.start()
    await adviser.send_text(room, "Are you still there?", thread_root=root)
    unreachable = en("thread.employee_unreachable", case_ref=case_ref)
    await adviser.until_seen(room, lambda a: unreachable in bodies_in_thread(a, root))
    code, logged_final = await final.stop()
    assert code == 0, logged_final
    assert bodies_in_thread(adviser, root).count(unreachable) == 1

    # The adviser never saw who the employee is on Telegram.
    seen = json.dumps([e.source for e in [*adviser.text_events, *adviser.notice_events]])
    assert str(person.id) not in seen and person.first_name not in seen
    for logged in (logged_first, logged_second, logged_third, logged_final):
        for secret in ("It happened again", "Wednesday is better", "Or Wednesday", "Canary"):
            assert secret not in logged
        assert str(person.id) not in logged


@contextlib.asynccontextmanager
async def running(config: Config, clock: Callable[[], float]) -> AsyncIterator[Runtime]:
    """`vertrouwd run` in this process, on a clock the test moves."""
    stopping = asyncio.Event()
    async with open_runtime(config, clock) as runtime:
        task = asyncio.create_task(serve(runtime, stopping))
        session = runtime.matrix_session
        assert session is not None
        await until(lambda: session.ready or task.done(), timeout=20)
        try:
            yield runtime
        finally:
            stopping.set()
            await task


async def test_notices_reminders_withdrawal_and_redaction_reach_the_adviser_room(
    world: World, tmp_path: Path, en: Texts
):
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        world.config_text() + "[retention]\nclosed_case_days = 1\nredact_adviser_room_days = 2\n"
    )
    config = load_config(config_file, environ={})
    room, adviser = world.room_id, world.adviser
    clock = FakeClock()
    canary = "Canary-b41d the printer room"
    async with running(config, clock) as runtime:
        employee = Employee(runtime, "dora")
        employee.listen()
        await employee.full_intake(description=canary, name="Dee")
        await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
        root = adviser.text_events[0].event_id
        [case_ref] = CASE_REF.findall(adviser.text_events[0].body)

        # Outside the thread: a notice, not a relay.
        await adviser.send_text(room, "Is this thing on?")
        await adviser.until_seen(room, lambda a: en("desk.not_in_thread") in a.notices)
        await adviser.send_text(room, "!status", thread_root=root)
        await adviser.until_seen(
            room, lambda a: any(n.startswith(f"Case {case_ref}: open") for n in a.notices)
        )
        assert employee.relayed == []

        # No answer for two working days: a reminder in the thread.
        clock.advance(3 * DAY)
        await runtime.timers.fire_due()
        reminder = en("thread.reply_reminder", case_ref=case_ref, days=2)
        await adviser.until_seen(room, lambda a: reminder in bodies_in_thread(a, root))

        # A client without threads replies to the reminder itself: that still counts.
        reminder_event = next(e for e in adviser.text_events if e.body == reminder)
        await adviser.send_text(room, "Sorry for the wait", reply_to=reminder_event.event_id)
        sorry = en(
            "line.from_adviser", adviser="Anna", case_ref=case_ref, text="Sorry for the wait"
        )
        await until(lambda: sorry in [r.text for r in employee.relayed], timeout=30)

        # The employee withdraws: the thread is told, and no trace stays with the bot.
        await employee.say(f"Also: {canary}")
        await employee.say("/delete")
        await employee.pick("yes")
        withdrawn = en("thread.withdrawn", case_ref=case_ref)
        await adviser.until_seen(room, lambda a: withdrawn in bodies_in_thread(a, root))
        for path in config.bot.data_dir.rglob("*"):
            if path.is_file():
                assert canary.encode() not in path.read_bytes(), path

        # Past the redaction term, the bot's posts about the case leave the room.
        clock.advance(2 * DAY + 60)
        assert runtime.retention is not None
        await runtime.retention.purge()
        redacting = en("thread.redacting", case_ref=case_ref, days="2")
        await adviser.until_seen(room, lambda a: redacting in bodies_in_thread(a, root))
        client = adviser.client
        for event_id in (
            root,
            *(e.event_id for e in adviser.text_events[1:] if in_thread(e.source["content"], root)),
        ):
            response = await client.room_get_event(room, event_id)
            content = getattr(response, "event", None)
            assert content is not None and not content.source.get("content"), event_id
        assert await runtime.store.case(case_ref) is None
