"""Opening the data folder's databases once, to find a broken file before anything
else is checked (`vertrouwd doctor`): a clear line and exit code 2, as at any start."""

from __future__ import annotations

from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import FieldCipher
from bot.keys.guard import existing_keys
from bot.sinks.local_inbox import INBOX_FILE, LocalInbox
from bot.store import SqliteStore


async def verify_data_files(config: Config) -> None:
    """Raise KeyFileError or StoreError, naming the file, if one cannot be used."""
    keys = existing_keys(config)
    if keys is None:
        return  # never started: nothing to check
    cipher = FieldCipher(keys)
    if (config.bot.data_dir / STORE_FILE).exists():
        store = await SqliteStore.open(
            config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
        )
        await store.close()
    if (config.bot.data_dir / INBOX_FILE).exists():
        inbox = await LocalInbox.open(config.bot.data_dir, cipher)
        await inbox.close()
