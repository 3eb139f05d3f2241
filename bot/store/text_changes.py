"""SQL for the audit log of the texts: every change an admin makes to one, kept until
retention drops it (bot/store/retention.py).

A mixin of SqliteStore (bot/store/core.py).
"""

from __future__ import annotations

from bot.store.base import TextChange
from bot.store.core import StoreCore

_TEXT_CHANGE_COLUMNS = "id, at, actor, lang, key, before, after"


class TextChangeQueries(StoreCore):
    async def record_text_change(
        self, actor: str, lang: str, key: str, before: str | None, after: str, now: float
    ) -> int:
        async with self._write_lock:
            cursor = await self._db.execute(
                "INSERT INTO text_changes (at, actor, lang, key, before, after)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now, actor, lang, key, before, after),
            )
            return int(cursor.lastrowid or 0)

    async def text_changes(self, key: str, lang: str | None = None) -> list[TextChange]:
        rows = await self._db.execute_fetchall(
            f"SELECT {_TEXT_CHANGE_COLUMNS} FROM text_changes"
            " WHERE key = ? AND (? IS NULL OR lang = ?) ORDER BY id DESC",
            (key, lang, lang),
        )
        return [TextChange(*row) for row in rows]

    async def text_change(self, change_id: int) -> TextChange | None:
        rows = list(
            await self._db.execute_fetchall(
                f"SELECT {_TEXT_CHANGE_COLUMNS} FROM text_changes WHERE id = ?", (change_id,)
            )
        )
        return TextChange(*rows[0]) if rows else None
