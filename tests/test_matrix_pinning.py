"""The adviser's identity: pinned at `matrix setup` with a fingerprint to compare, and
re-pinned after a reset only by an admin who confirms it (audited)."""

from __future__ import annotations

import asyncio

from bot.commands.doctor import run_checks
from bot.matrix.pinning import fingerprint
from bot.runtime import open_runtime
from tests.conftest import Person, run_cli
from tests.matrix_serving import serving
from tests.matrix_world import World
from tests.test_admin_room import Member, admin_config, admin_room, joined
from tests.test_matrix_handoff import wait_delivered


async def adviser_master_key(world: World) -> str:
    """As anyone on the homeserver sees it (and the adviser's Element shows it)."""
    keys = world.synapse.request(
        "POST",
        "/_matrix/client/v3/keys/query",
        {"device_keys": {world.adviser.user_id: []}},
        token=world.adviser.client.access_token,
    )
    [key] = keys["master_keys"][world.adviser.user_id]["keys"].values()
    return str(key)


def cli(world: World, *args: str, stdin: str = "") -> tuple[int, str]:
    config = str(world.folder / "config.toml")
    done = run_cli([*args, "--config", config], stdin=stdin, timeout=120)
    return done.returncode, done.stdout + done.stderr


async def test_matrix_setup_pins_the_adviser_and_prints_the_fingerprint(world: World):
    world.config(room_id="")
    (world.folder / "data" / "matrix-state.sealed").unlink()  # as before any setup
    code, said = cli(world, "matrix", "setup", "--adviser", "anna")
    assert code == 0, said
    master = await adviser_master_key(world)
    assert f"Pinned identity of {world.adviser.user_id}: {fingerprint(master)}" in said
    # The pin was taken now: a different identity before the first delivery is refused.
    await world.adviser.cross_sign()
    room_id = said.split("created ", 1)[1].split(" ", 1)[0]
    await world.adviser.join(room_id)
    async with open_runtime(world.config(room_id=room_id)) as runtime:
        await Person(runtime, "employee").full_intake()
        await asyncio.sleep(1.5)
        assert await runtime.store.pending_count() == 1


async def test_repin_shows_both_fingerprints_asks_and_is_audited(world: World):
    async with open_runtime(world.config()) as runtime:
        await Person(runtime, "first").full_intake(description="before the reset")
        await wait_delivered(runtime)  # pinned
    old = await adviser_master_key(world)
    await world.adviser.cross_sign()  # the adviser reset their identity in Element
    new = await adviser_master_key(world)
    assert new != old

    code, said = cli(world, "matrix", "repin", "anna", stdin="no\n")
    assert code == 1 and "Nothing changed." in said
    assert f"pinned now: {fingerprint(old)}" in said
    assert f"on the server: {fingerprint(new)}" in said

    code, said = cli(world, "matrix", "repin", "anna", stdin="yes\n")
    assert code == 0, said
    assert "Pinned: adviser anna is trusted again" in said
    async with open_runtime(world.config()) as runtime:
        await Person(runtime, "second").full_intake(description="after the reset")
        await wait_delivered(runtime, 30)
        [change] = await runtime.store.text_changes("matrix.pin.anna")
    assert (change.before, change.after) == (old, new)
    assert "vertrouwd matrix repin" in change.actor
    await world.adviser.until_seen(
        world.room_id, lambda a: any("after the reset" in t["body"] for t in a.texts), 15
    )


async def test_an_admin_who_reset_their_identity_is_refused_until_repinned(world: World):
    admin = await world.stranger("admin")
    await admin.cross_sign()
    room_id = await admin_room(world, admin)
    config = admin_config(world, admin.user_id, room_id)
    boss = Member(admin, room_id)
    async with serving(config) as runtime:
        refusal = runtime.catalog.texts("nl")("trust.admin_unverified")
        await joined(admin, room_id, world.bot_id)
        assert await boss.command("keys menu.pro") == "menu.prompt"  # pinned at first sight
        await admin.cross_sign()  # a new identity: a reset, or someone else
        assert await boss.command("keys menu.pro") == refusal
    checks = {c.name: c for c in await run_checks(config)}
    changed = checks[f"identity of {admin.user_id}"]
    assert not changed.ok and f"vertrouwd matrix repin {admin.user_id}" in changed.fix
    code, said = cli(world, "matrix", "repin", admin.user_id, stdin="yes\n")
    assert code == 0, said
    assert f"Pinned: admin {admin.user_id} is trusted again" in said
    async with serving(config):
        assert await boss.command("keys menu.pro") == "menu.prompt"
    await admin.close()
