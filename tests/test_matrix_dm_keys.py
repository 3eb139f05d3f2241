"""Room keys in employees' direct chats follow Element's rule for people, on a real Synapse.

With a cross-signing identity only the employee's cross-signed devices get the key
(the others are told why); that identity is pinned, and a change stops everything
personal until the employee has settled it.
"""

from __future__ import annotations

from bot.config import Config
from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.matrix.state import MatrixState
from bot.texts.catalog import Texts
from tests.matrix_people import MatrixPerson
from tests.matrix_serving import serving
from tests.matrix_world import World
from tests.test_matrix_dm import Employee, dm_config

CANARY = "NarwhalCanary5307"


async def cross_signed_employee(world: World) -> Employee:
    person = await world.stranger("employee")
    await person.cross_sign()
    return Employee(person)


async def other_device(world: World, employee: Employee, name: str) -> MatrixPerson:
    """The employee logs in somewhere else and does not verify that session."""
    person = employee.person
    folder = world.folder / f"{name}-{person.user_id.strip('@').split(':')[0]}"
    return await MatrixPerson(world.synapse, person.user_id, person.password, folder, name).login()


async def test_only_the_employees_cross_signed_devices_get_the_room_key(world: World, nl: Texts):
    employee = await cross_signed_employee(world)
    laptop = await other_device(world, employee, "laptop")
    async with serving(dm_config(world)):
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        await employee.say(dm, "hoi")
        # contact the adviser, agree, not in danger, bullying, what happened, name
        for answer in ("1", "1", "2", "1", f"Het gebeurt elke week {CANARY}", "Sam"):
            await employee.say(dm, answer)

        def told_why(device: MatrixPerson) -> bool:
            """Three messages it cannot read, and the notice of why for each of them."""
            sessions = {e.session_id for e in device.undecryptable_events}
            told = {
                e["content"].get("session_id")
                for e in device.to_device
                if e["type"] == "m.room_key.withheld"
            }
            return device.undecryptable >= 3 and sessions <= told

        await laptop.until_seen(dm, told_why, 20)
    bodies = [t["body"] for t in employee.person.texts]
    assert bodies[0].startswith(nl("intro.text", organisation="Stichting Voorbeeld")[:30])
    assert all(e.decrypted for e in employee.person.text_events)
    # The laptop sees the chat but can read none of it, and is told why.
    assert laptop.texts == [] and laptop.undecryptable >= 3
    sessions = {e.session_id for e in laptop.undecryptable_events if e.sender == world.bot_id}
    withheld = [e for e in laptop.to_device if e["type"] == "m.room_key.withheld"]
    assert withheld and {e["content"]["code"] for e in withheld} == {"m.unverified"}
    assert {e["content"]["session_id"] for e in withheld} >= sessions
    assert {e["content"]["room_id"] for e in withheld} == {dm}
    await laptop.close()
    await employee.person.close()


async def test_a_changed_identity_stops_the_chat_until_the_employee_erases_it(
    world: World, nl: Texts
):
    employee = await cross_signed_employee(world)
    async with serving(dm_config(world)):
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        await employee.say(dm, "hoi")
        await employee.say(dm, "1")
        [danger] = await employee.say(dm, "1")  # agree: the identity is pinned by now
        assert danger["body"].startswith(nl("danger.prompt"))
        await employee.person.cross_sign()  # a new identity: a reset, or someone else
        for answer in ("2", "1", f"Het gebeurt elke week {CANARY}"):
            [notice] = await employee.say(dm, answer)
            assert notice["body"] == nl("dm_identity.changed")  # and no question
        [confirm] = await employee.say(dm, "/delete")
        assert confirm["body"].startswith(nl("delete.confirm")[:40])
        left_text = nl("trust.dm_left")
        [done, left] = await employee.say(
            dm, "1", until=lambda new: any(m["body"] == left_text for m in new)
        )
        assert done["body"] == nl("delete.done_matrix")
        assert left["body"] == nl("trust.dm_left")  # the bot leaves the erased chat
        # Nothing of theirs is kept: the new identity is theirs now, in a new chat.
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        [intro] = await employee.say(dm, "hoi")
        assert intro["body"].startswith(nl("intro.text", organisation="Stichting Voorbeeld")[:30])
        [consent] = await employee.say(dm, "1")
        assert consent["body"].startswith(nl("consent.intro"))
    assert all(e.decrypted for e in employee.person.text_events)
    assert CANARY not in str(employee.person.texts)
    await employee.person.close()


async def test_without_an_identity_every_device_of_the_employee_gets_the_key(world: World):
    employee = Employee(await world.stranger("employee"))  # never set up cross-signing
    laptop = await other_device(world, employee, "laptop")
    async with serving(dm_config(world)):
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        [intro] = await employee.say(dm, "hoi")
        await laptop.until_seen(dm, lambda p: len(p.texts) + p.undecryptable >= 1)
    assert [t["body"] for t in laptop.texts] == [intro["body"]]
    assert not [e for e in laptop.to_device if e["type"] == "m.room_key.withheld"]
    await laptop.close()
    await employee.person.close()


async def test_after_an_identity_change_the_advisers_message_waits(world: World, nl: Texts):
    employee = await cross_signed_employee(world)
    adviser, room = world.adviser, world.room_id
    async with serving(dm_config(world)) as runtime:
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        await employee.say(dm, "hoi")
        # contact the adviser, agree, not in danger, bullying, what happened, name,
        # via this chat, mornings, today, send
        for answer in ("1", "1", "2", "1", "Het gebeurt elke week", "Sam", "1", "1", "1", "1"):
            await employee.say(dm, answer)
        await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
        root = adviser.text_events[0].event_id
        await employee.person.cross_sign()  # a new identity: a reset, or someone else
        before = len(employee.person.texts)
        await adviser.send_text(room, f"Bel me dinsdag {CANARY}", thread_root=root)
        changed = nl("dm_identity.changed")
        await employee.person.until_seen(
            dm, lambda p: any(t["body"] == changed for t in p.texts[before:]), 20
        )
        assert [t["body"] for t in employee.person.texts[before:]] == [changed]
        await employee.person.collect(dm, 2, want=99)
        assert CANARY not in str(employee.person.texts)
        assert len(await runtime.store.due_relays(1e12, 10, ["matrix"])) == 1  # it waits
    await employee.person.close()


def pinned_identities(config: Config) -> dict[str, str]:
    cipher = FieldCipher(load_or_create_keys(config.key_file))
    return MatrixState.load(config.bot.data_dir, cipher).employee_master_keys


async def test_a_pinned_identity_goes_with_everything_else_the_bot_kept(world: World, nl: Texts):
    employee = await cross_signed_employee(world)
    config = dm_config(world)
    async with serving(config):
        dm = await employee.open_direct_chat(world.bot_id)
        await employee.wait_for_member(dm, world.bot_id, "join")
        await employee.say(dm, "hoi")
        [pinned] = pinned_identities(config).items()
        assert employee.person.user_id not in pinned[0]  # kept under the keyed hash only
        await employee.say(dm, "/delete")
        left_text = nl("trust.dm_left")
        [done, left] = await employee.say(
            dm, "1", until=lambda new: any(m["body"] == left_text for m in new)
        )
        assert done["body"] == nl("delete.done_matrix")
        assert left["body"] == nl("trust.dm_left")
    async with serving(config):
        assert pinned_identities(config) == {}
    await employee.person.close()
