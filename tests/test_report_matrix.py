"""The annual report on the throwaway Synapse: the adviser registers in the case's
Matrix thread and in the room, the admin asks `report 2026` and gets the summary and
the HTML as an encrypted file; anyone else in the admin room is refused."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import html5lib
from nio import DownloadResponse, RoomEncryptedFile, RoomMessageNotice, RoomSendResponse
from nio.crypto.attachments import decrypt_attachment

from bot.config import load_config
from bot.texts.catalog import Texts
from tests.conftest import LOCALES, FakeClock
from tests.matrix_people import MatrixPerson
from tests.matrix_world import World
from tests.test_admin_room import admin_room, joined
from tests.test_line import Employee
from tests.test_line_matrix import CASE_REF, bodies_in_thread, running

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def monday(hour: int) -> float:
    return datetime(2026, 10, 5, hour, tzinfo=AMSTERDAM).timestamp()


async def ask(
    person: MatrixPerson, room_id: str, text: str, seconds: float = 20.0
) -> tuple[list[str], list[RoomEncryptedFile]]:
    """Send a command to the admin room; the notices and files that come back."""
    client = person.client
    await client.sync(timeout=0)
    if client.should_query_keys:
        await client.keys_query()
    sent = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )
    assert isinstance(sent, RoomSendResponse), sent
    notices: list[str] = []
    files: list[RoomEncryptedFile] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = await client.sync(timeout=500)
        rooms = getattr(response, "rooms", None)
        events = rooms.join[room_id].timeline.events if rooms and room_id in rooms.join else []
        notices += [e.body for e in events if isinstance(e, RoomMessageNotice)]
        files += [e for e in events if isinstance(e, RoomEncryptedFile)]
        if notices and (files or "report 2026 en" not in text):
            await client.sync(timeout=1000)  # a file would follow right behind
            return notices, files
    return notices, files


async def in_thread(adviser: MatrixPerson, room: str, text: str, root: str, expect: str) -> None:
    await adviser.send_text(room, text, thread_root=root)
    await adviser.until_seen(room, lambda a: any(expect in b for b in bodies_in_thread(a, root)))


async def test_the_adviser_registers_in_matrix_and_the_admin_gets_the_report_encrypted(
    world: World, tmp_path: Path, en: Texts
):
    admin = await world.stranger("admin")
    await admin.cross_sign()  # an admin's commands count from a verified session only
    visitor = await world.stranger("visitor")
    admin_room_id = await admin_room(world, admin, visitor.user_id)
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        world.config_text()
        + f'[admin]\nusers = ["{admin.user_id}"]\nroom_id = "{admin_room_id}"\n'
        + "[report]\nmin_count = 1\n"
    )
    config = load_config(config_file, environ={})
    assert config.locales_dir == LOCALES
    room, adviser = world.room_id, world.adviser
    clock = FakeClock(monday(10))
    async with running(config, clock) as runtime:
        await joined(admin, admin_room_id, world.bot_id)
        await visitor.join(admin_room_id)
        employee = Employee(runtime, "erin")
        employee.listen()
        await employee.full_intake(name="Canary-Erin")
        await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
        root = adviser.text_events[0].event_id
        [case_ref] = CASE_REF.findall(adviser.text_events[0].body)

        # Two working days later the adviser answers, then closes the case.
        clock.now = monday(15) + 2 * 86400
        await adviser.send_text(room, "Shall we talk on Thursday?", thread_root=root)
        await until_relayed(employee)
        await in_thread(adviser, room, "!close", root, "Question 1 of 5: What kind of contact")
        for answer, asked in (
            ("klacht", "Question 2 of 5"),
            ("2 mediation", "Question 3 of 5"),
            ("a colleague", "Question 4 of 5"),
            ("-", "Question 5 of 5"),
            ("no", en("register.done_case")),
        ):
            await in_thread(adviser, room, answer, root, asked)

        # A phone call outside the bot: !register in the room opens a thread of its own.
        outside = await adviser.send_text(room, "!register")
        await adviser.until_seen(
            room, lambda a: any("Question 1 of 6" in b for b in bodies_in_thread(a, outside))
        )
        for answer, asked in (
            ("phone", "Question 2 of 6"),
            ("melding", "Question 3 of 6"),
            ("listening and advice", "Question 4 of 6"),
            ("3", "Question 5 of 6"),
            ("bullying, discrimination", "Question 6 of 6"),
            ("yes", en("register.done")),
        ):
            await in_thread(adviser, room, answer, outside, asked)
        await adviser.send_text(room, "!activity 2026-10-01 15 training")
        saved = en("activity.saved", kind="Training", participants=15, quarter="2026 Q4")
        await adviser.until_seen(room, lambda a: saved in a.notices)

        # In the running quarter, the admin room's report shows no counts yet.
        notices, _ = await ask(admin, admin_room_id, "report 2026 en")
        # 5 October: the third quarter ended 4 days ago, not yet settled.
        assert en("report.covers_part_other", year=2026, last=2, days=14) in notices[0]
        assert "Contacts in 2026: 0 " in notices[0]
        # Once the year has ended and settled, the admin asks again; the visitor may not.
        clock.now = datetime(2027, 1, 20, 10, tzinfo=AMSTERDAM).timestamp()
        notices, files = await ask(admin, admin_room_id, "report 2026 en")
        assert notices[0].split("\n")[:3] == [
            "Annual report of the confidential adviser 2026, Stichting Voorbeeld",
            "All advisers: Anna.",
            en(
                "report.summary_total",
                year=2026,
                count=2,
                previous=2025,
                previous_count="\u2013",  # no counts for the year before
                change="-",
            ),
        ]
        [attached] = files
        assert attached.source["content"]["file"]["url"] == attached.url  # an encrypted file
        downloaded = await admin.client.download(attached.url)
        assert isinstance(downloaded, DownloadResponse), downloaded
        assert b"Annual report" not in downloaded.body  # the homeserver holds ciphertext
        page = decrypt_attachment(
            downloaded.body, attached.key["k"], attached.hashes["sha256"], attached.iv
        ).decode()
        document = html5lib.parse(page, namespaceHTMLElements=False)

        def row(section: str, label: str) -> list[str]:
            table = document.find(f".//section[@id='{section}']")
            for tr in table.iter("tr"):
                cells = [td.text or "" for td in tr]
                if cells[0] == label:
                    return cells[1:]
            raise AssertionError((section, label))

        assert row("contacts", "Through the bot") == ["1", "\u2013", ""]
        assert row("contacts", "Outside the bot") == ["1", "\u2013", ""]
        assert row("channel", "Terminal") == ["1", "\u2013", ""]
        assert row("outside_channel", "By phone") == ["1", "\u2013", ""]
        assert row("kind", "Klacht: a formal complaint, with or without my support")[0] == "1"
        assert row("kind", "Melding: an experience, to be heard or advised")[0] == "1"
        assert row("route", "Informal talk with the other party")[0] == "1"
        assert row("route", "Mediation")[0] == "1"
        assert row("route", "Listening and advice")[0] == "1"
        assert row("source", "A colleague")[0] == "1"
        assert row("source", "A client or outsider")[0] == "1"
        assert row("topic", "Bullying")[0] == "2"  # the request's and the phone call's
        assert row("topic", "Discrimination")[0] == "1"
        assert row("registered_topic", "Not answered")[0] == "1"
        assert row("repeated", "No, once")[0] == "1"
        assert row("repeated", "Yes, more than once")[0] == "1"
        assert row("first_contact", "2 working days")[0] == "1"
        assert row("activities", "Training") == ["1", "15", "0", "0"]
        assert case_ref not in page and "Canary-Erin" not in page

        notices, files = await ask(visitor, admin_room_id, "report 2026")
        assert notices == [runtime.catalog.texts("nl")("admin.not_allowed")]
        assert files == []
    for member in (admin, visitor):
        await member.close()


async def until_relayed(employee: Employee) -> None:
    for _ in range(100):
        if employee.relayed:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the adviser's answer did not reach the employee")
