"""The adviser's observations and advice: written from a file, standard input or the
admin room, stored sealed, printed in the report of that year."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.keys.crypto import FieldCipher, new_key_material
from bot.store import SqliteStore, StoreError
from bot.store.sealed_fields import SEALED_COLUMNS
from bot.texts.catalog import Texts
from tests.conftest import run_cli
from tests.test_report_cli import config_file

CANARY = "Canary-advice: workload in the warehouse keeps coming back."


async def test_advice_is_sealed_per_year_and_replaced_when_written_again(tmp_path: Path):
    path = tmp_path / "store.sqlite3"
    cipher = FieldCipher(new_key_material())
    store = await SqliteStore.open(path, cipher, "handoff-synced")
    assert await store.advice(2026) is None
    await store.set_advice(2026, "First thoughts.", 1.0)
    await store.set_advice(2026, CANARY, 2.0)
    await store.set_advice(2025, "Last year.", 3.0)
    assert await store.advice(2026) == CANARY
    assert await store.advice(2025) == "Last year."
    for wrong in ("", "   ", "x" * 20_001):
        with pytest.raises(StoreError):
            await store.set_advice(2026, wrong, 4.0)
    assert await store.advice(2026) == CANARY  # a refused text changes nothing
    assert "report_advice" in {column.table for column in SEALED_COLUMNS}  # keys rotate it
    await store.close()
    for name in (path, path.with_name(path.name + "-wal")):
        if name.exists():
            assert b"Canary-advice" not in name.read_bytes()
    # Moved to another year in the file, it does not open.
    db = sqlite3.connect(path)
    db.execute("UPDATE report_advice SET year = 2024 WHERE year = 2026")
    db.commit()
    db.close()
    moved = await SqliteStore.open(path, cipher, "handoff-synced")
    try:
        with pytest.raises(StoreError):
            await moved.advice(2024)
    finally:
        await moved.close()


def test_the_advice_from_stdin_or_a_file_is_printed_in_the_report(tmp_path: Path, en: Texts):
    config = config_file(tmp_path)
    run_cli(["chat", "--config", config, "--jsonl", "--user", "x"], stdin='{"text": "hi"}\n')
    empty = run_cli(["report", "advice", "--config", config, "--year", "2025"], stdin="  \n")
    assert empty.returncode == 1 and "Niets opgeslagen" in empty.stderr
    text = f"{CANARY}\n\nAdvice: a second adviser outside the organisation."
    saved = run_cli(["report", "advice", "--config", config, "--year", "2025"], stdin=text)
    assert saved.returncode == 0, saved.stderr
    page = run_cli(["report", "--config", config, "--year", "2025", "--lang", "en"]).stdout
    assert f"<p>{CANARY}</p><p>Advice: a second adviser" in page
    assert en("report.observations_hint") not in page
    note = tmp_path / "advice.txt"
    note.write_text("From a file.", encoding="utf-8")
    run_cli(["report", "advice", "--config", config, "--year", "2025", "--file", str(note)])
    md = run_cli(["report", "--config", config, "--year", "2025", "--format", "md"]).stdout
    assert "From a file." in md and CANARY not in md
    other = run_cli(["report", "--config", config, "--year", "2024", "--format", "md"]).stdout
    assert "From a file." not in other


async def test_the_admin_room_writes_the_advice_with_advies(runtime, en: Texts):
    from datetime import datetime

    from bot.admin.commands import AdminCommands

    async def no_lines() -> list[str]:
        return []

    assert runtime.editor is not None
    settled = datetime(2027, 2, 1).timestamp()
    commands = AdminCommands(
        runtime.config,
        lambda: runtime.catalog,
        runtime.editor,
        runtime.store,
        no_lines,
        lambda: settled,
    )
    nl = runtime.catalog.texts("nl")
    assert await commands.answer("@a:example.org", "!advies 2026") == nl("report.advice_usage")
    said = await commands.answer("@a:example.org", f"!advies 2026 {CANARY}")
    assert said == nl("report.advice_saved", year="2026")
    _, page = await commands.report("report 2026 en")
    assert page is not None and CANARY in page
