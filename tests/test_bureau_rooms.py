"""A bureau's organisations side by side, without a homeserver: one ops listener whose
metrics tell no organisation from another, a Matrix room that two organisations name
is served for neither twice, and each organisation's edited texts stay its own."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Config, load_config
from bot.organisations.folders import folder_of
from bot.organisations.lifecycle import add_organisation
from bot.runtime.bureau import open_bureau
from tests.conftest import Person, write_config
from tests.telegram_harness import BotProcess
from tests.test_ops import get, ops_section, scrape_until, wait_listening

ACME, BETA = "acme-zq7k", "beta-wv3p"
CANARY = "Canary-Bureau-7431"
ROOM = "!shared-room:example.org"


def bureau(tmp_path: Path, extra: str = "") -> tuple[Path, Config]:
    file = write_config(tmp_path, "[bureau]\nenabled = true\n" + extra)
    config = load_config(file, environ={})
    add_organisation(config, ACME, "Acme BV")
    add_organisation(config, BETA, "Beta NV")
    return file, config


def own_tables(config: Config, organisation_id: str, tables: str) -> None:
    file = folder_of(config.organisations_dir, organisation_id).file
    file.write_text(file.read_text() + tables)


async def test_bureau_metrics_count_every_organisation_together_and_name_none(
    tmp_path: Path, unused_tcp_port: int
):
    from bot.ops.bureau_ops import bureau_ops_listener

    port = unused_tcp_port
    file, config = bureau(tmp_path, ops_section(port))
    broken = folder_of(config.organisations_dir, "gamma-broken")
    broken.root.mkdir()
    broken.file.write_text("[org\n")  # a file nobody can read: not served, and said so
    async with open_bureau(config, file) as opened, bureau_ops_listener(opened, [], time.time):
        assert sorted(opened.runtimes) == [ACME, BETA]
        await Person(opened.runtimes[ACME], "robin").full_intake(description=CANARY)
        await scrape_until(port, ("vertrouwd_handoffs_queued_total", ()), 1)
        await Person(opened.runtimes[BETA], "robin").full_intake(description=CANARY)
        samples = await scrape_until(port, ("vertrouwd_handoffs_queued_total", ()), 2)
        status, body = await get(port, "/metrics")
        ready_status, readiness = await get(port, "/readyz")
    assert status == 200
    # One count for the bureau: neither organisation's figure can be told apart.
    assert samples[("vertrouwd_steps_total", (("result", "stored"),))] > 0
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            assert set(sample.labels) <= {"channel", "result", "reason", "version", "le"}, sample
    for told in (ACME, BETA, "Acme", "Beta", "gamma-broken", CANARY):
        assert told not in body
    # /readyz is the operator's: the organisation not served is named by its id.
    assert ready_status == 503
    assert '"organisations": "not served: gamma-broken (the log says why)"' in readiness
    assert '"store": "ok"' in readiness and '"handoffs": "ok"' in readiness
    assert CANARY not in readiness


def matrix_bureau(tmp_path: Path) -> str:
    password = tmp_path / "bot.password"
    password.write_text("never-used")
    password.chmod(0o600)
    return (
        '[handoff]\nsink = "matrix"\n'
        '[matrix]\nhomeserver = "http://127.0.0.1:9"\nuser_id = "@bureau:example.org"\n'
        'password_file = "bot.password"\n'
    )


def adviser_in(room_id: str) -> str:
    return (
        '[[advisers]]\nid = "anna"\nname = "Anna"\n'
        f'matrix_user_id = "@anna:example.org"\nroom_id = "{room_id}"\n'
    )


async def test_a_room_two_organisations_name_is_served_for_the_first_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """On the bureau's one account the room says whose an event is: a room in two
    organisations' files would put one's handoffs before the other's adviser."""
    file, config = bureau(tmp_path, matrix_bureau(tmp_path) + adviser_in(""))
    own_tables(config, ACME, adviser_in(ROOM))
    own_tables(config, BETA, adviser_in(ROOM))
    with caplog.at_level(logging.ERROR):
        async with open_bureau(config, file) as opened:
            assert sorted(opened.runtimes) == [ACME]
            assert opened.not_served == [BETA]
            # Given a room of its own, it is served at the next look.
            file_b = folder_of(config.organisations_dir, BETA).file
            file_b.write_text(file_b.read_text().replace(ROOM, "!beta-own:example.org"))
            await opened.reconcile()
            assert sorted(opened.runtimes) == [ACME, BETA]
            assert opened.not_served == []
            assert opened.runtimes[BETA].config.advisers[0].room_id == "!beta-own:example.org"
    assert (
        f"organisation {BETA} is not served: the room of adviser anna ({ROOM}) is already"
        f" the room of adviser anna of organisation {ACME}"
    ) in caplog.text


async def test_an_organisation_whose_file_changed_is_served_with_its_new_rooms(tmp_path: Path):
    """`matrix setup --org` writes the new room into the file; the running bot takes it
    up at its next look at the folder, without a restart."""
    file, config = bureau(tmp_path, matrix_bureau(tmp_path) + adviser_in(""))
    own_tables(config, ACME, adviser_in("!old:example.org"))
    async with open_bureau(config, file) as opened:
        before = opened.runtimes[ACME]
        acme_file = folder_of(config.organisations_dir, ACME).file
        acme_file.write_text(acme_file.read_text().replace("!old:", "!new:"))
        await opened.reconcile()
        after = opened.runtimes[ACME]
        assert after is not before
        assert after.config.advisers[0].room_id == "!new:example.org"
        await opened.reconcile()  # nothing changed since: the same runtime goes on
        assert opened.runtimes[ACME] is after


async def test_the_bureaus_advisers_rooms_are_no_organisations_rooms(tmp_path: Path):
    """Rooms in the bureau's own [[advisers]] would be inherited by every organisation:
    only one of them may be served with them."""
    file, config = bureau(tmp_path, matrix_bureau(tmp_path) + adviser_in(ROOM))
    async with open_bureau(config, file) as opened:
        assert sorted(opened.runtimes) == [ACME] and opened.not_served == [BETA]


async def test_an_organisations_text_edit_changes_its_own_texts_only(tmp_path: Path):
    file, config = bureau(tmp_path)
    async with open_bureau(config, file) as opened:
        acme, beta = opened.runtimes[ACME], opened.runtimes[BETA]
        before = beta.catalog.texts("en")("already_sent.text", case_ref="X")
        assert acme.editor is not None
        edited = f"{CANARY}: {{case_ref}}"
        result = await acme.editor.set("@admin:acme", "already_sent.text", "en", edited)
        assert result.ok, result.problems
        assert acme.catalog.texts("en")("already_sent.text", case_ref="X") == f"{CANARY}: X"
        assert beta.catalog.texts("en")("already_sent.text", case_ref="X") == before
        # Audited in the organisation's own store, not in the other's.
        assert [c.after for c in await acme.store.text_changes("already_sent.text")] == [edited]
        assert await beta.store.text_changes("already_sent.text") == []
    acme_folder = folder_of(config.organisations_dir, ACME)
    assert CANARY in (acme_folder.texts_dir / "en.toml").read_text()
    for path in folder_of(config.organisations_dir, BETA).root.rglob("*"):
        assert not path.is_file() or CANARY.encode() not in path.read_bytes(), path


async def test_vertrouwd_run_serves_one_ops_listener_for_the_bureau(
    tmp_path: Path, unused_tcp_port: int
):
    port = unused_tcp_port
    file, _ = bureau(tmp_path, ops_section(port))
    bot = BotProcess(file)
    await bot.start()
    try:
        await wait_listening(port, bot)
        ready_status, readiness = await get(port, "/readyz")
        metrics_status, body = await get(port, "/metrics")
    finally:
        code, logged = await bot.stop()
    assert code == 0, logged
    assert ready_status == 200, readiness
    assert '"organisations": "ok"' in readiness and '"store": "ok"' in readiness
    assert metrics_status == 200 and "vertrouwd_steps_total" in body
    assert ACME not in body and BETA not in body
