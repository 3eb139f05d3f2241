"""A bureau on the throwaway Synapse: one bot account, two organisations, and one
adviser who serves both with a room for each.

The rooms are made with `vertrouwd matrix setup --org` (on the bureau's one device),
named after their organisation; a request in one organisation arrives in its room
only, the adviser's answer there reaches that organisation's person only, and removing
one organisation leaves the other's room and cases working.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from nio import (
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessageText,
    RoomPreset,
    SyncResponse,
)

from bot.bureau_channels import serve_bureau
from bot.config import load_config
from bot.organisations.folders import folder_of
from bot.organisations.registry import read_organisation
from bot.runtime.bureau import Bureau, open_bureau
from tests.conftest import jsonl, run_cli
from tests.matrix_people import MatrixPerson
from tests.matrix_serving import ENCRYPTION
from tests.matrix_world import ADVISER_PASSWORD, BOT_PASSWORD
from tests.synapse_server import Synapse
from tests.test_admin_room import Member, joined
from tests.test_line import Employee
from tests.test_terminal_matrix import INTAKE

ACME, BETA = "acme", "beta"
NAMES = {ACME: "Acme BV", BETA: "Beta NV"}
CASE_REF = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")


class Watcher:
    """Everything the adviser's phone receives, room by room (one sync brings every
    room's events: watching one room at a time would drop the others')."""

    def __init__(self, person: MatrixPerson) -> None:
        self.person = person
        self.events: dict[str, list[RoomMessageText | RoomMessageNotice]] = defaultdict(list)
        self.undecryptable: dict[str, int] = defaultdict(int)

    def bodies(self, room_id: str) -> list[str]:
        return [event.body for event in self.events[room_id]]

    async def until(self, holds: Callable[[], bool], seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while not holds():
            assert time.monotonic() < deadline, "timed out waiting in the rooms"
            response = await self.person.client.sync(timeout=500)
            if not isinstance(response, SyncResponse):
                continue
            for room_id, room in response.rooms.join.items():
                for event in room.timeline.events:
                    if event.sender == self.person.user_id:
                        continue
                    if isinstance(event, RoomMessageText | RoomMessageNotice):
                        self.events[room_id].append(event)
                    elif isinstance(event, MegolmEvent):
                        self.undecryptable[room_id] += 1


async def until(holds: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not holds():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def bureau_text(synapse: Synapse, bot_id: str, adviser_id: str) -> str:
    return (
        '[bot]\ndata_dir = "data"\nlog_level = "DEBUG"\ntexts_reload_seconds = 0.3\n'
        "[bureau]\nenabled = true\n"
        "[limits]\nburst_messages = 10000\n"
        '[handoff]\nsink = "matrix"\n'
        f'[matrix]\nhomeserver = "{synapse.url}"\nuser_id = "{bot_id}"\n'
        'password_file = "bot.password"\nrequest_timeout_seconds = 5.0\npoll_seconds = 1\n'
        "[outbox]\nretry_initial_seconds = 0.2\nretry_max_seconds = 1.0\n"
        f'[[advisers]]\nid = "anna"\nname = "Anna"\nlanguage = "en"\n'
        f'matrix_user_id = "{adviser_id}"\n'
    )


def cli(file: Path, *args: str) -> str:
    done = run_cli([*args, "--config", str(file)], timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def organisation_with_room(file: Path, organisation_id: str, adviser_id: str) -> str:
    """`org add`, the adviser in its own file, and `matrix setup --org` for its room."""
    cli(file, "org", "add", organisation_id, "--name", NAMES[organisation_id])
    config = load_config(file, environ={})
    own_file = folder_of(config.organisations_dir, organisation_id).file
    own_file.write_text(
        own_file.read_text()
        + '\n[[advisers]]\nid = "anna"\nname = "Anna"\nlanguage = "en"\n'
        + f'matrix_user_id = "{adviser_id}"\nroom_id = ""\n'
    )
    said = cli(file, "matrix", "setup", "--org", organisation_id, "--adviser", "anna")
    assert f"Set room_id for adviser 'anna' in {own_file}" in said
    organisation = read_organisation(folder_of(config.organisations_dir, organisation_id))
    room_id = organisation.tables["advisers"][0]["room_id"]
    assert room_id.startswith("!") and room_id in said
    return str(room_id)


@contextlib.asynccontextmanager
async def serving(file: Path) -> AsyncIterator[Bureau]:
    """`vertrouwd run` of the bureau in this process, stopped as on SIGTERM at the end."""
    stopping = asyncio.Event()
    async with open_bureau(load_config(file, environ={}), file) as bureau:
        task = asyncio.create_task(serve_bureau(bureau, stopping))
        session = bureau.shared.matrix_session
        assert session is not None
        await until(lambda: session.ready or task.done())
        assert session.ready, "the bot did not log in"
        try:
            yield bureau
        finally:
            stopping.set()
            await task


async def request(employee: Employee, description: str) -> str:
    await employee.full_intake(description=description)
    match = CASE_REF.search(" ".join(employee.texts))
    assert match, employee.texts
    return match.group()


def terminal_request(file: Path, canary: str) -> str:
    """A whole request at Acme's terminal (`vertrouwd chat --org`); its case reference."""
    intake = [{**m, "text": f"{m['text']} {canary}"} if m == INTAKE[5] else m for m in INTAKE]
    chatted = run_cli(
        ["chat", "--org", ACME, "--jsonl", "--user", "sam", "--lang", "en", "--config", str(file)],
        stdin=jsonl(*intake),
        timeout=120,
    )
    assert chatted.returncode == 0 and "Traceback" not in chatted.stderr, chatted.stderr
    return str(CASE_REF.findall(chatted.stdout)[-1])


async def test_one_bot_account_serves_two_organisations_in_rooms_of_their_own(
    synapse: Synapse, tmp_path: Path
):
    tag = uuid.uuid4().hex[:8]
    bot_id = synapse.register(f"bureau{tag}", BOT_PASSWORD)
    adviser_id = synapse.register(f"anna{tag}", ADVISER_PASSWORD)
    (tmp_path / "bot.password").write_text(BOT_PASSWORD)
    (tmp_path / "bot.password").chmod(0o600)
    adviser = await MatrixPerson(
        synapse, adviser_id, ADVISER_PASSWORD, tmp_path / "adviser-phone", "Anna's phone"
    ).login()
    await adviser.cross_sign()
    file = tmp_path / "bureau.toml"
    file.write_text(bureau_text(synapse, bot_id, adviser_id))
    rooms = {i: organisation_with_room(file, i, adviser_id) for i in (ACME, BETA)}
    assert rooms[ACME] != rooms[BETA]
    for room_id in rooms.values():
        await adviser.join(room_id)
    # The rooms say whose requests come there.
    assert adviser.client.rooms[rooms[ACME]].name == "Acme BV · confidential adviser"
    assert adviser.client.rooms[rooms[BETA]].name == "Beta NV · confidential adviser"
    # Both were made on the bureau's one login: its state lives in the bureau's folder.
    config = load_config(file, environ={})
    assert (config.bot.data_dir / "matrix-store").is_dir()
    for organisation_id in (ACME, BETA):
        own = folder_of(config.organisations_dir, organisation_id).data_dir
        assert not (own / "matrix-store").exists()

    watcher = Watcher(adviser)
    canary_a, canary_b = f"Canary-Acme-{tag}", f"Canary-Beta-{tag}"
    # At the terminal of Acme, before the bureau runs: on the bureau's account as well.
    canary_chat = f"Canary-Terminal-{tag}"
    case_chat = terminal_request(file, canary_chat)
    await watcher.until(lambda: any(canary_chat in b for b in watcher.bodies(rooms[ACME])))
    try:
        async with serving(file) as bureau:
            session = bureau.shared.matrix_session
            assert session is not None and session.http is not None
            devices = await session.http.request("GET", "/_matrix/client/v3/devices")
            # One device for the bureau, not one per organisation (the other device
            # is the one the test's registration made).
            logins = [d for d in devices["devices"] if d["display_name"] == "vertrouwd"]
            assert [d["device_id"] for d in logins] == [session.state.device_id]
            # The same person name in both organisations: still two people.
            robin_a = Employee(bureau.runtimes[ACME], "robin")
            robin_b = Employee(bureau.runtimes[BETA], "robin")
            robin_a.listen()
            robin_b.listen()
            case_a = await request(robin_a, f"The team lead mocks me {canary_a}")
            await watcher.until(lambda: any(canary_a in b for b in watcher.bodies(rooms[ACME])))
            root_a = next(e for e in watcher.events[rooms[ACME]] if canary_a in e.body).event_id
            case_b = await request(robin_b, f"My colleague shouts {canary_b}")
            await watcher.until(lambda: any(canary_b in b for b in watcher.bodies(rooms[BETA])))
            root_b = next(e for e in watcher.events[rooms[BETA]] if canary_b in e.body).event_id

            # The adviser answers in each room's thread: each reaches its own person.
            await adviser.send_text(rooms[ACME], f"Tuesday? {canary_a}", thread_root=root_a)
            await adviser.send_text(rooms[BETA], f"Wednesday? {canary_b}", thread_root=root_b)
            await until(lambda: any(canary_a in r.text for r in robin_a.relayed))
            await until(lambda: any(canary_b in r.text for r in robin_b.relayed))
            assert not any(canary_a in r.text for r in robin_b.relayed)
            assert not any(canary_b in r.text for r in robin_a.relayed)

        # While the bureau is down, the adviser answers in Beta's room, and someone
        # uses Acme at the terminal: its syncs bring Beta's answer too, and leave it
        # for the bureau, which passes it on once it runs again.
        await adviser.send_text(rooms[BETA], "Back on Friday", thread_root=root_b)
        canary_later = f"Canary-Later-{tag}"
        terminal_request(file, canary_later)
        await watcher.until(lambda: any(canary_later in b for b in watcher.bodies(rooms[ACME])))
        async with serving(file) as bureau:
            robin_b = Employee(bureau.runtimes[BETA], "robin")
            robin_b.listen()
            await until(lambda: any("Back on Friday" in r.text for r in robin_b.relayed))

            # Removing Acme: suspended (the running bot lets go), then erased.
            cli(file, "org", "suspend", ACME)
            await until(lambda: ACME not in bureau.runtimes)
            removed = cli(file, "org", "remove", ACME, "--yes")
            assert rooms[ACME] in removed and "in these rooms" in removed
            assert not folder_of(config.organisations_dir, ACME).root.exists()
            # Beta's room and case go on.
            await adviser.send_text(rooms[BETA], "Or Thursday?", thread_root=root_b)
            await until(lambda: any("Or Thursday?" in r.text for r in robin_b.relayed))
            await robin_b.say(f"Thursday is fine {canary_b}")
            await watcher.until(
                lambda: any("Thursday is fine" in b for b in watcher.bodies(rooms[BETA]))
            )
    finally:
        await adviser.close()

    assert watcher.undecryptable[rooms[BETA]] == 0  # so every event of it was read
    for body in watcher.bodies(rooms[BETA]):
        assert canary_a not in body and case_a not in body
        assert canary_chat not in body and case_chat not in body
    assert not any(canary_b in body or case_b in body for body in watcher.bodies(rooms[ACME]))
    beta_folder = folder_of(config.organisations_dir, BETA).root
    for path in beta_folder.rglob("*"):
        if path.is_file():
            assert canary_a.encode() not in path.read_bytes(), path
            assert case_a.encode() not in path.read_bytes(), path
            assert canary_chat.encode() not in path.read_bytes(), path


async def private_room(person: MatrixPerson, bot_id: str, name: str) -> str:
    response = await person.client.room_create(
        preset=RoomPreset.private_chat, invite=[bot_id], initial_state=[ENCRYPTION], name=name
    )
    assert isinstance(response, RoomCreateResponse), response
    return str(response.room_id)


async def test_an_admin_command_in_one_organisations_room_changes_only_its_texts(
    synapse: Synapse, tmp_path: Path
):
    tag = uuid.uuid4().hex[:8]
    bot_id = synapse.register(f"bureau{tag}", BOT_PASSWORD)
    (tmp_path / "bot.password").write_text(BOT_PASSWORD)
    (tmp_path / "bot.password").chmod(0o600)
    admin_id = synapse.register(f"beheer{tag}", "admin-pw")
    admin = await MatrixPerson(synapse, admin_id, "admin-pw", tmp_path / "admin-phone").login()
    await admin.cross_sign()  # an admin's commands count from a verified session only
    file = tmp_path / "bureau.toml"
    file.write_text(
        '[bot]\ndata_dir = "data"\nlog_level = "DEBUG"\ntexts_reload_seconds = 0.3\n'
        "[bureau]\nenabled = true\n"
        f'[matrix]\nhomeserver = "{synapse.url}"\nuser_id = "{bot_id}"\n'
        'password_file = "bot.password"\nrequest_timeout_seconds = 5.0\npoll_seconds = 1\n'
    )
    rooms = {}
    for organisation_id in (ACME, BETA):
        cli(file, "org", "add", organisation_id, "--name", NAMES[organisation_id])
        # One person is the admin of both, each organisation's from its own room.
        rooms[organisation_id] = await private_room(admin, bot_id, f"{organisation_id} admin")
        config = load_config(file, environ={})
        own_file = folder_of(config.organisations_dir, organisation_id).file
        own_file.write_text(
            own_file.read_text()
            + f'\n[admin]\nusers = ["{admin_id}"]\nroom_id = "{rooms[organisation_id]}"\n'
        )
    canary = f"Canary-Admin-{tag}"
    try:
        async with serving(file) as bureau:
            acme, beta = bureau.runtimes[ACME], bureau.runtimes[BETA]
            original = beta.catalog.texts("en")("menu.prompt")
            for organisation_id in (ACME, BETA):
                await joined(admin, rooms[organisation_id], bot_id)
            answer = await Member(admin, rooms[ACME]).command(f"set menu.prompt en {canary}")
            assert answer.startswith("Opgeslagen als wijziging 1: menu.prompt in en.")
            assert acme.catalog.texts("en")("menu.prompt") == canary
            assert beta.catalog.texts("en")("menu.prompt") == original
            assert [c.after for c in await acme.store.text_changes("menu.prompt")] == [canary]
            assert await beta.store.text_changes("menu.prompt") == []
            # Beta's room edits Beta's texts, numbered in Beta's own audit log.
            answer = await Member(admin, rooms[BETA]).command("set menu.prompt en Beta asks")
            assert answer.startswith("Opgeslagen als wijziging 1: menu.prompt in en.")
            assert beta.catalog.texts("en")("menu.prompt") == "Beta asks"
            assert acme.catalog.texts("en")("menu.prompt") == canary
    finally:
        await admin.close()
    beta_folder = folder_of(config.organisations_dir, BETA).root
    for path in beta_folder.rglob("*"):
        assert not path.is_file() or canary.encode() not in path.read_bytes(), path
