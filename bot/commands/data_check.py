"""Opening the data folder's databases once, to find a broken file before anything
else is checked (`vertrouwd doctor`): a clear line and exit code 2, as at any start.

The start bounds its page check in time (bot/store/connection.py); here every
database, matrix-nio's store too, is checked whole, and the local inbox's rows are
counted against its own ledger of the handoffs it holds.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import FieldCipher
from bot.keys.guard import existing_keys
from bot.sinks.local_inbox import INBOX_FILE, LocalInbox
from bot.store import SqliteStore
from bot.store.base import StoreError
from bot.store.connection import damaged
from bot.store.organisation_links import LINKS_FILE


def _whole_page_check(path: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("PRAGMA quick_check(1)").fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise damaged(path, exc) from exc
    if rows != [("ok",)]:
        raise damaged(path, sqlite3.DatabaseError(str(rows[0][0]) if rows else "no answer"))


async def verify_data_files(config: Config) -> str | None:
    """Raise KeyFileError or StoreError, naming the file, if one cannot be used; else
    say what was checked (None: never started, nothing to check)."""
    keys = existing_keys(config)
    if keys is None:
        return None
    cipher = FieldCipher(keys)
    data_dir = config.bot.data_dir
    names = (STORE_FILE, INBOX_FILE, LINKS_FILE)  # the last: a bureau's own folder
    checked = [data_dir / name for name in names if (data_dir / name).exists()]
    if (data_dir / STORE_FILE).exists():
        store = await SqliteStore.open(data_dir / STORE_FILE, cipher, config.storage.durability)
        await store.close()
    held = ""
    if (data_dir / INBOX_FILE).exists():
        inbox = await LocalInbox.open(data_dir, cipher)
        try:
            contents = await inbox.contents()
        finally:
            await inbox.close()
        if contents.kept != contents.found:
            raise StoreError(
                f"local inbox {data_dir / INBOX_FILE} is damaged: it has received"
                f" {contents.kept} request(s) still kept, and {contents.found} can be found;"
                " restore the data folder from a backup (vertrouwd restore DIR)"
            )
        held = f"; the local inbox holds all {contents.found} request(s) it received"
    checked += sorted((data_dir / "matrix-store").glob("*.db"))
    for path in checked:
        _whole_page_check(path)
    return f"{len(checked)} database(s) checked page by page (PRAGMA quick_check){held}"
