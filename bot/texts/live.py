"""Texts that follow their files: an edited locale is picked up while the bot runs.

A changed locale folder is validated as a whole, exactly as `vertrouwd texts check`
does. Only a valid one replaces the texts in use; otherwise the bot keeps what it
had, keeps serving, and says what is wrong and where (file, key, problem; never a
text itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Config, ConfigError
from bot.texts.catalog import Catalog, Problem, TextsInvalid, catalog_of, load_catalog

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, str], ...]
# Told about every refused change (the admin room is one listener).
RefusalListener = Callable[[list[Problem]], Awaitable[None]]
# Told when new texts are in use (Telegram registers its command menu again).
ReloadListener = Callable[[Catalog], Awaitable[None]]


def check_config_against_texts(config: Config, catalog: Catalog) -> None:
    """Settings that name texts must name texts that exist."""
    texts = catalog.texts(catalog.default_language)
    for topic in config.intake.topics:
        if not texts.has(f"topic.{topic}"):
            raise ConfigError(
                f"intake.topics: topic {topic!r} has no text 'topic.{topic}' in the locales"
            )
    if not catalog.supports(config.bot.default_language):
        raise ConfigError(
            f"bot.default_language: no locale file for {config.bot.default_language!r}"
        )


def validated_catalog(
    config: Config, folder: Path, overrides: Path | None
) -> tuple[Catalog | None, list[Problem]]:
    """The catalog of ``folder`` with ``overrides`` over it if it passes every check,
    else what is wrong."""
    try:
        catalog = load_catalog(folder, config.bot.default_language, overrides)
        check_config_against_texts(config, catalog)
    except TextsInvalid as exc:
        return None, exc.problems
    except ConfigError as exc:
        return None, [Problem(f"{config.bot.default_language}.toml", "", str(exc))]
    return catalog, []


def fingerprint(folder: Path, overrides: Path | None = None) -> Fingerprint:
    """Name and content hash of every locale file (and edited texts' file): any edit
    changes it, however quick."""
    found = []
    paths = sorted(folder.glob("*.toml"))
    if overrides is not None:
        paths += sorted(overrides.glob("*.toml"))
    for path in paths:
        try:
            content = path.read_bytes()
        except OSError:  # removed between listing and reading, or unreadable right now
            continue
        found.append((str(path), hashlib.sha256(content).hexdigest()))
    return tuple(found)


class LiveCatalog:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._seen = self._fingerprint()
        self.current = catalog_of(config)
        check_config_against_texts(config, self.current)
        self.refusal_listeners: list[RefusalListener] = []
        self.reload_listeners: list[ReloadListener] = []

    def _fingerprint(self) -> Fingerprint:
        return fingerprint(self._config.locales_dir, self._config.bot.texts_overrides_dir)

    async def reload_if_changed(self) -> bool:
        """Take up a changed locale folder if it is valid; True when the texts changed."""
        seen = self._fingerprint()
        if seen == self._seen:
            return False
        self._seen = seen
        catalog, problems = validated_catalog(
            self._config, self._config.locales_dir, self._config.bot.texts_overrides_dir
        )
        if catalog is None:
            await self._refuse(problems)
            return False
        self.current = catalog
        log.info("texts reloaded: %s", ", ".join(catalog.languages()))
        for listener in self.reload_listeners:
            await listener(catalog)
        return True

    async def _refuse(self, problems: list[Problem]) -> None:
        log.error("changed texts refused; the previous texts stay in use:")
        for problem in problems:
            log.error("  %s", problem)
        for listener in self.refusal_listeners:
            await listener(problems)

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.reload_if_changed()
