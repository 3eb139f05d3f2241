"""A bureau of many organisations in one process: each is served by its own engine and
store, closing lets go of everything each held, and one added while running is served
after the next look at the folder. (How fast and how big: bench/organisations.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.ops import run_lock
from bot.organisations.folders import folder_of
from bot.organisations.lifecycle import (
    OrganisationBusy,
    add_organisation,
    remove_organisation,
    resume_organisation,
    suspend_organisation,
)
from bot.runtime.bureau import Bureau, open_bureau
from tests.conftest import FakeClock, Person, write_config

ORGANISATIONS = 20


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def bureau_file(tmp_path: Path) -> Path:
    path = write_config(tmp_path, '[bureau]\nenabled = true\nname = "Bureau"\n')
    config = load_config(path, environ={})
    config.bot.data_dir.mkdir(mode=0o700)
    for index in range(ORGANISATIONS):
        add_organisation(config, f"client-{index:02d}", f"Client {index}")
    return path


def held(config: Config, organisation_id: str) -> bool:
    """Whether a running bot holds the organisation's run lock."""
    return (
        run_lock.holder(folder_of(config.organisations_dir, organisation_id).data_dir) is not None
    )


async def greeted(bureau: Bureau, organisation_id: str, user: str) -> bool:
    person = Person(bureau.runtimes[organisation_id], user)
    return bool(await person.say("hello"))


async def test_each_organisation_answers_through_its_own_engine_and_store(
    bureau_file: Path, clock: FakeClock
) -> None:
    config = load_config(bureau_file, environ={})
    async with open_bureau(config, bureau_file, clock) as bureau:
        served = sorted(bureau.runtimes)
        assert served == [f"client-{index:02d}" for index in range(ORGANISATIONS)]
        for index, organisation_id in enumerate(served):
            # Each a different number of people: a count that crossed would show.
            for person in range(index % 3 + 1):
                assert await greeted(bureau, organisation_id, f"person-{person}")
        for index, organisation_id in enumerate(served):
            store = bureau.runtimes[organisation_id].store
            assert await store.conversation_count() == index % 3 + 1, organisation_id
        stores = {id(runtime.store) for runtime in bureau.runtimes.values()}
        assert len(stores) == ORGANISATIONS


async def test_closing_lets_go_of_every_lock_and_file(bureau_file: Path, clock: FakeClock) -> None:
    config = load_config(bureau_file, environ={})
    before = open_fds()
    async with open_bureau(config, bureau_file, clock) as bureau:
        for organisation_id in bureau.runtimes:
            assert await greeted(bureau, organisation_id, "someone")
        assert len(open_fds() - before) >= ORGANISATIONS  # a lock and a database each at least
        assert all(held(config, organisation_id) for organisation_id in bureau.runtimes)
        with pytest.raises(OrganisationBusy):
            remove_organisation(config, "client-00")
    assert open_fds() <= before
    assert not any(held(config, f"client-{index:02d}") for index in range(ORGANISATIONS))
    remove_organisation(config, "client-00")  # nobody serves it any more
    assert not folder_of(config.organisations_dir, "client-00").root.exists()


async def test_an_organisation_added_while_running_is_served_after_the_next_look(
    bureau_file: Path, clock: FakeClock
) -> None:
    config = load_config(bureau_file, environ={})
    async with open_bureau(config, bureau_file, clock) as bureau:
        add_organisation(config, "newcomer", "Newcomer BV")
        assert "newcomer" not in bureau.runtimes
        await bureau.reconcile()
        assert "newcomer" in bureau.runtimes
        assert held(config, "newcomer")
        assert await greeted(bureau, "newcomer", "first-visitor")
        assert await bureau.runtimes["newcomer"].store.conversation_count() == 1
        assert len(bureau.runtimes) == ORGANISATIONS + 1
    assert not held(config, "newcomer")


async def test_a_suspended_organisation_lets_go_at_the_next_look_and_a_resumed_one_returns(
    bureau_file: Path, clock: FakeClock
) -> None:
    config = load_config(bureau_file, environ={})
    async with open_bureau(config, bureau_file, clock) as bureau:
        await bureau.reconcile()  # nothing changed: everyone stays served
        assert len(bureau.runtimes) == ORGANISATIONS
        suspend_organisation(config, "client-07")
        await bureau.reconcile()
        assert "client-07" not in bureau.runtimes
        assert not held(config, "client-07")
        assert len(bureau.runtimes) == ORGANISATIONS - 1
        resume_organisation(config, "client-07")
        await bureau.reconcile()
        assert await greeted(bureau, "client-07", "back-again")
