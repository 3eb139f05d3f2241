"""The page check at start (SQLite's ``PRAGMA quick_check``, bot/store/connection.py) on
a store of 10^6 rows: how long it takes, beside the floor of reading the same file
once from start to end in the same run, and how long opening the whole store takes.

The rows are conversations (a keyed hash, a sealed blob the size of a real draft,
and the index on their time), written straight into a store this code migrated.

    PYTHONPATH=$PWD python bench/page_check.py [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bot.keys.crypto import FieldCipher, new_key_material
from bot.store import SqliteStore

_SEALED_BYTES = 400  # about a conversation halfway through an intake


def _fill(path: Path, rows: int, cipher: FieldCipher) -> None:
    async def migrate() -> None:
        store = await SqliteStore.open(path, cipher, "handoff-synced")
        await store.close()

    asyncio.run(migrate())
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        batch = 50_000
        for start in range(0, rows, batch):
            db.executemany(
                "INSERT INTO conversations (user_key, state, lang, sealed, updated_at)"
                " VALUES (?, 'description', 'nl', ?, ?)",
                (
                    (os.urandom(32), os.urandom(_SEALED_BYTES), 1.79e9 + n)
                    for n in range(start, min(rows, start + batch))
                ),
            )
            db.commit()
        db.execute("PRAGMA journal_mode=WAL")


def _read_floor(path: Path) -> float:
    started = time.perf_counter()
    with open(path, "rb") as handle:
        while handle.read(1 << 20):
            pass
    return time.perf_counter() - started


def _quick_check(path: Path) -> float:
    started = time.perf_counter()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA quick_check(1)").fetchall() == [("ok",)]
    return time.perf_counter() - started


def _open_store(path: Path, cipher: FieldCipher) -> float:
    async def run() -> float:
        started = time.perf_counter()
        store = await SqliteStore.open(path, cipher, "handoff-synced")
        took = time.perf_counter() - started
        await store.close()
        return took

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cipher = FieldCipher(new_key_material())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vertrouwd.sqlite3"
        started = time.perf_counter()
        _fill(path, args.rows, cipher)
        size = path.stat().st_size
        print(
            f"store: {args.rows} conversations, {size / 1e6:.0f} MB, filled in"
            f" {time.perf_counter() - started:.1f} s"
        )
        floors, checks, opens = [], [], []
        for _ in range(args.runs):  # alternating, so each sees the same machine
            floors.append(_read_floor(path))
            checks.append(_quick_check(path))
            opens.append(_open_store(path, cipher))
        floor, check, opened = (statistics.median(x) for x in (floors, checks, opens))
        print(f"read the file once (floor): {floor:.2f} s ({size / 1e6 / floor:.0f} MB/s)")
        print(f"PRAGMA quick_check:         {check:.2f} s = {check / floor:.1f} x the floor")
        print(f"open the store (with it):   {opened:.2f} s = {opened / floor:.1f} x the floor")
        print(
            f"medians of {args.runs} runs; the page check per 10^6 rows:"
            f" {check / args.rows * 1e6:.2f} s"
        )


if __name__ == "__main__":
    main()
