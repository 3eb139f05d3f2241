"""A homeserver with a bot account and an adviser in a private room, set up as an admin would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.keys.crypto import FieldCipher, load_or_create_keys
from bot.matrix.identity import CrossSigningKeys
from bot.matrix.session import MatrixSession
from bot.matrix.setup import create_adviser_room
from bot.texts.catalog import load_catalog
from tests.matrix_people import MatrixPerson
from tests.synapse_server import SYNAPSE_PYTHON, Synapse

BOT_PASSWORD = "bot-password-1"
ADVISER_PASSWORD = "adviser-password-1"


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory):
    if not SYNAPSE_PYTHON.exists():
        pytest.fail(f"Synapse is not installed at {SYNAPSE_PYTHON}: run ./dev test")
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


@dataclass
class World:
    synapse: Synapse
    folder: Path
    bot_id: str
    adviser: MatrixPerson
    room_id: str
    adviser_keys: CrossSigningKeys | None = None  # the adviser's identity, to verify with

    def config_text(self, room_id: str | None = None, homeserver: str | None = None) -> str:
        return (
            '[bot]\ndata_dir = "data"\nlog_level = "DEBUG"\n'
            "[limits]\nburst_messages = 10000\n"
            '[handoff]\nsink = "matrix"\n'
            f'[matrix]\nhomeserver = "{homeserver or self.synapse.url}"\n'
            f'user_id = "{self.bot_id}"\npassword_file = "bot.password"\n'
            "request_timeout_seconds = 5.0\npoll_seconds = 1\n"
            "[outbox]\nretry_initial_seconds = 0.2\nretry_max_seconds = 1.0\n"
            '[[advisers]]\nid = "anna"\nname = "Anna"\nlanguage = "en"\n'
            f'matrix_user_id = "{self.adviser.user_id}"\n'
            f'room_id = "{self.room_id if room_id is None else room_id}"\n'
        )

    def config(self, **overrides: str) -> Config:
        path = self.folder / "config.toml"
        path.write_text(self.config_text(**overrides))
        return load_config(path, environ={})

    async def adviser_device(self, name: str) -> MatrixPerson:
        """The adviser logs in somewhere else and does not verify that session."""
        folder = self.folder / name.replace(" ", "-").replace("'", "")
        device = await MatrixPerson(
            self.synapse, self.adviser.user_id, ADVISER_PASSWORD, folder, name
        ).login()
        await device.client.sync(timeout=0)
        return device

    async def stranger(self, name: str = "stranger") -> MatrixPerson:
        user_id = self.synapse.register(f"{name}{uuid.uuid4().hex[:8]}", "stranger-pw")
        return await MatrixPerson(
            self.synapse, user_id, "stranger-pw", self.folder / user_id.strip("@").split(":")[0]
        ).login()


async def make_world(synapse: Synapse, folder: Path) -> AsyncIterator[World]:
    tag = uuid.uuid4().hex[:8]
    bot_id = synapse.register(f"vertrouwd{tag}", BOT_PASSWORD)
    adviser_id = synapse.register(f"anna{tag}", ADVISER_PASSWORD)
    (folder / "bot.password").write_text(BOT_PASSWORD)
    (folder / "bot.password").chmod(0o600)  # the bot refuses a password others can read
    adviser = await MatrixPerson(
        synapse, adviser_id, ADVISER_PASSWORD, folder / "adviser-phone", "Anna's phone"
    ).login()
    adviser_keys = await adviser.cross_sign()
    world = World(synapse, folder, bot_id, adviser, "", adviser_keys)
    config = world.config(room_id="")
    cipher = FieldCipher(load_or_create_keys(config.key_file))
    session = MatrixSession(config.matrix, config.bot.data_dir, cipher)  # type: ignore[arg-type]
    catalog = load_catalog(config.locales_dir, config.bot.default_language)
    world.room_id = await create_adviser_room(session, config.advisers[0], catalog.texts("en"))
    await session.close()
    await adviser.join(world.room_id)
    try:
        yield world
    finally:
        await adviser.close()


@pytest.fixture
async def world(synapse: Synapse, tmp_path: Path) -> AsyncIterator[World]:
    """A homeserver with the bot's account and an adviser in a private room."""
    async for made in make_world(synapse, tmp_path):
        yield made
