"""SQL for the adviser's observations and advice in the annual report: one text per
year, sealed (its year bound as associated data), replaced when written again.

A mixin of SqliteStore (bot/store/core.py).
"""

from __future__ import annotations

from bot.keys.crypto import DecryptionError
from bot.store.base import StoreError
from bot.store.core import StoreCore
from bot.store.sealed_fields import advice_aad

# A few pages at most: the report prints it whole.
ADVICE_MAX_CHARS = 20_000


class ReportAdviceQueries(StoreCore):
    async def set_advice(self, year: int, text: str, now: float) -> None:
        """The adviser's text for ``year``, replacing an earlier one."""
        if not 2000 <= year <= 2999:
            raise StoreError("advice needs a year")
        if not text.strip() or len(text) > ADVICE_MAX_CHARS:
            raise StoreError("advice is a text of 1 to 20,000 characters")
        sealed = self._cipher.seal(text.encode(), advice_aad(year))
        async with self._write_lock:
            await self._db.execute(
                "INSERT INTO report_advice (year, sealed, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (year) DO UPDATE SET sealed = excluded.sealed,"
                " updated_at = excluded.updated_at",
                (year, sealed, now),
            )

    async def advice(self, year: int) -> str | None:
        rows = list(
            await self._db.execute_fetchall(
                "SELECT sealed FROM report_advice WHERE year = ?", (year,)
            )
        )
        if not rows:
            return None
        try:
            return self._cipher.open(rows[0][0], advice_aad(year)).decode()
        except DecryptionError as exc:
            raise StoreError("the advice of that year cannot be decrypted") from exc
