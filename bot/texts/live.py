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
import time
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


# A file whose size, times and inode are unchanged is hashed again only after this long:
# the organisations of a bureau look at the same locale files, each every few seconds,
# and one read serves them all. An edit that changes none of those (a filesystem with
# coarse times) is still seen, this much later.
_REHASH_SECONDS = 1.0
_digests: dict[str, tuple[tuple[int, int, int, int], float, str]] = {}


def _digest(path: Path) -> str | None:
    """The content hash of ``path``, or None if it cannot be read now."""
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
        known = _digests.get(str(path))
        now = time.monotonic()
        if known is not None and known[0] == stamp and now - known[1] < _REHASH_SECONDS:
            return known[2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:  # removed between listing and reading, or unreadable right now
        _digests.pop(str(path), None)
        return None
    _digests[str(path)] = (stamp, now, digest)
    return digest


def fingerprint(folder: Path, overrides: Path | None = None) -> Fingerprint:
    """Name and content hash of every locale file (and edited texts' file): any edit
    changes it, however quick (one that keeps the file's size and times within a
    second of the last read shows a second later)."""
    found = []
    paths = sorted(folder.glob("*.toml"))
    if overrides is not None:
        paths += sorted(overrides.glob("*.toml"))
    for path in paths:
        digest = _digest(path)
        if digest is not None:
            found.append((str(path), digest))
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
