"""Changing one text in one language: validated like a file edit, written back to the
locale file with its comments and layout (tomlkit), recorded in the audit log, and in
use from the next message on."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import String

from bot.config import Config
from bot.store import Store, TextChange
from bot.texts.catalog import Problem
from bot.texts.live import LiveCatalog, validated_catalog
from bot.util.private_files import replace_file


@dataclass(frozen=True)
class EditResult:
    problems: list[Problem] = field(default_factory=list)
    change: int | None = None  # the audit log's number for the change

    @property
    def ok(self) -> bool:
        return not self.problems


def _put(document: Any, parts: list[str], text: str) -> None:
    node = document
    for part in parts[:-1]:
        if part not in node:
            node[part] = tomlkit.table()
        node = node[part]
    current = node.get(parts[-1])
    multiline = "\n" in text or (isinstance(current, String) and current.type.is_multiline())
    node[parts[-1]] = tomlkit.string(text, multiline=multiline)


class TextEditor:
    def __init__(
        self, config: Config, live: LiveCatalog, store: Store, clock: Callable[[], float]
    ) -> None:
        self._config = config
        self._live = live
        self._store = store
        self._clock = clock

    def _file(self, lang: str) -> Path:
        """Where an edit goes: the edited texts' file when there is a folder for them
        (an organisation of a bureau), else the locale file itself."""
        folder = self._config.bot.texts_overrides_dir or self._config.locales_dir
        return folder / f"{lang}.toml"

    def known_keys(self) -> list[str]:
        catalog = self._live.current
        return sorted(catalog.locales[catalog.default_language])

    async def set(self, actor: str, key: str, lang: str, text: str) -> EditResult:
        """Set ``key`` in ``lang`` to ``text``, if the locales stay valid with it."""
        catalog = self._live.current
        if not catalog.supports(lang):
            return EditResult([Problem(f"{lang}.toml", "", "there is no such locale file")])
        if key not in catalog.locales[catalog.default_language]:
            return EditResult([Problem(f"{lang}.toml", key, "is not a text the bot uses")])
        path = self._file(lang)
        try:
            existing = path.read_text(encoding="utf-8") if path.exists() else ""
            document = tomlkit.parse(existing)
        except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
            # Someone broke the file on disk: it is fixed there, not from here.
            return EditResult([Problem(path.name, "", f"cannot be read now ({exc})")])
        before = catalog.locales[lang].get(key)
        _put(document, key.split("."), text)
        content = tomlkit.dumps(document)
        problems = self._problems_with(lang, content)
        if problems:
            return EditResult(problems)
        _replace(path, content)
        await self._live.reload_if_changed()
        change = await self._store.record_text_change(actor, lang, key, before, text, self._clock())
        return EditResult(change=change)

    async def revert(self, actor: str, change_id: int) -> EditResult:
        """Put back the text as it was before change ``change_id``."""
        change = await self._store.text_change(change_id)
        if change is None:
            return EditResult([Problem("", "", f"there is no change number {change_id}")])
        if change.before is None:
            return EditResult(
                [Problem(f"{change.lang}.toml", change.key, "had no text before that change")]
            )
        return await self.set(actor, change.key, change.lang, change.before)

    async def history(self, key: str, lang: str | None = None) -> list[TextChange]:
        return await self._store.text_changes(key, lang)

    def _problems_with(self, lang: str, content: str) -> list[Problem]:
        """Validate the texts as they would be with ``content`` for ``lang``."""
        overrides = self._config.bot.texts_overrides_dir
        edited = overrides or self._config.locales_dir
        with tempfile.TemporaryDirectory() as folder:
            trial = Path(folder)
            for path in edited.glob("*.toml"):
                shutil.copyfile(path, trial / path.name)
            (trial / f"{lang}.toml").write_text(content, encoding="utf-8")
            if overrides is None:
                _, problems = validated_catalog(self._config, trial, None)
            else:
                _, problems = validated_catalog(self._config, self._config.locales_dir, trial)
        return problems


def _replace(path: Path, content: str) -> None:
    """Write the whole file or nothing: the watcher never sees half a file."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    replace_file(path, content.encode("utf-8"), mode)
