"""What an admin can ask in the admin room, and the answer, as text.

A command is the first word of a message (``!set`` works as well as ``set``); what
follows are its arguments, and for ``set`` the rest of the message is the new text.
"""

from __future__ import annotations

import string
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.admin.text_editor import EditResult, TextEditor
from bot.config import Config
from bot.report.html_page import html
from bot.report.service import Counts, annual_report, summary, texts_for
from bot.store.report_advice import ADVICE_MAX_CHARS
from bot.texts.catalog import Catalog, Texts

_KEYS_SHOWN = 60
_HISTORY_SHOWN = 10
_USAGE = {
    "show": "show KEY",
    "preview": "preview KEY [LANG]",
    "set": "set KEY LANG TEXT",
    "history": "history KEY [LANG]",
    "revert": "revert NUMBER",
}

StatusLines = Callable[[], Awaitable[list[str]]]


class _Sample(dict[str, str]):
    """Example values for a preview; a placeholder without one stays visible."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class AdminCommands:
    def __init__(
        self,
        config: Config,
        catalog: Callable[[], Catalog],
        editor: TextEditor,
        store: Counts,
        status_lines: StatusLines,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._config = config
        self._catalog = catalog
        self._editor = editor
        self._store = store
        self._status_lines = status_lines

    def _t(self) -> Texts:
        return self._catalog().texts(self._config.bot.default_language)

    async def answer(self, admin: str, message: str) -> str:
        """The reply to one message from an admin."""
        head, _, rest = message.strip().partition(" ")
        command = head.lstrip("!").casefold()
        words = rest.split()
        t = self._t()
        match command:
            case "help":
                return f"{t('admin.help')}\n{t('report.admin_help')}"
            case "keys":
                return self._keys(words[0] if words else "")
            case "show" if len(words) == 1:
                return self._show(words[0])
            case "preview" if len(words) in (1, 2):
                return self._preview(words[0], words[1] if len(words) == 2 else None)
            case "set" if len(words) >= 3:
                key, lang, text = _split_set(rest)
                result = await self._editor.set(admin, key, lang, text)
                if result.ok:
                    return t("admin.saved", change=result.change, name=key, lang=lang)
                return self._refused(result)
            case "history" if len(words) in (1, 2):
                return await self._history(words[0], words[1] if len(words) == 2 else None)
            case "revert" if len(words) == 1 and words[0].isdigit():
                result = await self._editor.revert(admin, int(words[0]))
                return t("admin.reverted", change=words[0]) if result.ok else self._refused(result)
            case "status":
                return "\n".join(await self._status())
            case "advies" | "advice":
                return await self._advice(rest)
            case _ if command in _USAGE:
                return t("admin.usage", usage=_USAGE[command])
        return t("admin.unknown")

    async def report(self, message: str) -> tuple[str, str | None]:
        """``report YEAR [LANG]``: the summary, and the whole report as HTML."""
        words = message.split()[1:]
        if len(words) not in (1, 2) or not words[0].isdigit() or len(words[0]) != 4:
            return self._t()("report.usage"), None
        year = int(words[0])
        t = texts_for(self._catalog(), self._config, words[1] if len(words) == 2 else None)
        # Only quarters that ended (and settled) a while ago: two reports asked a day
        # apart in this room never differ by one request.
        made = await annual_report(self._store, self._config, t, year, None, self._clock())
        return summary(made, t), html(made, t)

    async def _advice(self, rest: str) -> str:
        """``!advies YEAR TEXT``: the adviser's observations and advice for that year."""
        t = self._t()
        year, _, text = rest.strip().partition(" ")
        if not (year.isdigit() and len(year) == 4) or not text.strip():
            return t("report.advice_usage")
        if len(text) > ADVICE_MAX_CHARS:
            return t("report.advice_refused", most=ADVICE_MAX_CHARS)
        await self._store.set_advice(int(year), text.strip(), self._clock())
        return t("report.advice_saved", year=year)

    def _keys(self, part: str) -> str:
        t = self._t()
        keys = [key for key in self._editor.known_keys() if part.casefold() in key.casefold()]
        if not keys:
            return t("admin.keys_none", part=part)
        lines = keys[:_KEYS_SHOWN]
        if len(keys) > _KEYS_SHOWN:
            lines.append(t("admin.keys_more", count=len(keys) - _KEYS_SHOWN))
        return "\n".join(lines)

    def _show(self, key: str) -> str:
        catalog = self._catalog()
        t = self._t()
        if key not in catalog.locales[catalog.default_language]:
            return t("admin.unknown_key", name=key)
        lines = []
        for lang in catalog.languages():
            own = catalog.locales[lang].get(key)
            text = own if own is not None else t("admin.missing", default=catalog.default_language)
            lines.append(f"[{lang}]\n{text}")
        return "\n\n".join(lines)

    def _preview(self, key: str, lang: str | None) -> str:
        catalog = self._catalog()
        if key not in catalog.locales[catalog.default_language]:
            return self._t()("admin.unknown_key", name=key)
        template = catalog.texts(lang or catalog.default_language)(key)
        samples = _Sample(
            organisation=self._config.organisation.name,
            days=str(self._config.organisation.contact_within_working_days),
            draft_hours=f"{self._config.retention.draft_hours:g}",
            case_ref="ACDE-FGHJ",
            max=str(self._config.intake.description_max_chars),
        )
        names = {field for _, field, _, _ in string.Formatter().parse(template) if field}
        return template.format_map(samples) if names else template

    async def _history(self, key: str, lang: str | None) -> str:
        t = self._t()
        changes = await self._editor.history(key, lang)
        if not changes:
            return t("admin.history_none", name=key)
        zone = ZoneInfo(self._config.organisation.timezone)
        blocks = []
        for change in changes[:_HISTORY_SHOWN]:
            at = datetime.fromtimestamp(change.at, zone).strftime("%Y-%m-%d %H:%M")
            head = t(
                "admin.history_line", change=change.id, at=at, actor=change.actor, lang=change.lang
            )
            blocks.append(f"{head}\n- {change.before or '—'}\n+ {change.after}")
        return "\n\n".join(blocks)

    def _refused(self, result: EditResult) -> str:
        return "\n".join([self._t()("admin.refused"), *(f"- {p}" for p in result.problems)])

    async def _status(self) -> list[str]:
        t = self._t()
        lines = [t("admin.status_pending", count=await self._store.pending_count())]
        last = await self._store.last_delivery_at()
        if last is None:
            lines.append(t("admin.status_never"))
        else:
            at = datetime.fromtimestamp(last, ZoneInfo(self._config.organisation.timezone))
            lines.append(t("admin.status_last", at=at.strftime("%Y-%m-%d %H:%M")))
        opened, waiting = await self._store.line_counts()
        lines.append(t("admin.status_lines", open=opened, waiting=waiting))
        return lines + await self._status_lines()


def _split_set(rest: str) -> tuple[str, str, str]:
    """``KEY LANG TEXT``, where TEXT is everything after the language, lines and all."""
    key, _, after_key = rest.strip().partition(" ")
    lang, _, text = after_key.lstrip().partition(" ")
    if "\n" in lang:  # "set KEY LANG\nTEXT ON THE NEXT LINES"
        lang, _, first = lang.partition("\n")
        text = f"{first}\n{text}" if text else first
    return key, lang, text.strip()
