"""Wiring for a bureau: one process, one scorer, one Matrix account, and a runtime of
its own for every active organisation (its own store, key, texts, sink and workers).

The organisations folder is looked at again every few seconds: an organisation added
is opened, one suspended or removed is closed (its run lock let go, so `org remove` can
erase it). An organisation whose file or data cannot be opened is named in the log and
left out; the others go on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError
from bot.config.bureau import OrganisationEntry
from bot.keys.crypto import FieldCipher, KeyFileError
from bot.keys.guard import keys_for_data
from bot.keys.watch import watch_key_file
from bot.ops import run_lock
from bot.ops.observe import Observer
from bot.organisations.folders import folder_of
from bot.organisations.registry import (
    Organisation,
    organisation_config,
    organisation_ids,
    read_organisation,
)
from bot.organisations.rooms import room_clash
from bot.runtime import Runtime, Shared, _matrix_session, open_runtime, prepare_data_dir
from bot.scorer.service import ScoringService
from bot.store import StoreError
from bot.texts.catalog import TextsInvalid
from bot.util.failures import describe_failure

log = logging.getLogger(__name__)

OrganisationListener = Callable[[str, Runtime], Awaitable[None]]
_Stamp = tuple[int, int, int, int]


def _stamp(path: Path) -> _Stamp | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


ClosingListener = Callable[[str], Awaitable[None]]


@dataclass
class _Open:
    runtime: Runtime
    entry: OrganisationEntry
    stack: contextlib.AsyncExitStack
    tables: dict[str, Any] = field(default_factory=dict)  # its file's settings, as opened


@dataclass
class Bureau:
    config: Config
    config_file: Path | None
    shared: Shared
    clock: Callable[[], float] = time.time
    # The bureau's own key (its Matrix login, the links of people to organisations),
    # following `vertrouwd keys rotate` while the bureau runs.
    cipher: FieldCipher | None = None
    _open: dict[str, _Open] = field(default_factory=dict)
    _refused: dict[str, str] = field(default_factory=dict)  # id: why, said once
    # Each organisation's file as last read, by its size, times and inode: the folder is
    # looked at every few seconds, and 200 files parsed each time cost a few % of a core.
    _read: dict[str, tuple[_Stamp, Organisation]] = field(default_factory=dict)
    # Told when an organisation is opened (a channel mounts it) and before one closes.
    on_opened: list[OrganisationListener] = field(default_factory=list)
    on_closing: list[ClosingListener] = field(default_factory=list)

    @property
    def runtimes(self) -> dict[str, Runtime]:
        """The organisations served now, by id."""
        return {organisation_id: o.runtime for organisation_id, o in self._open.items()}

    @property
    def not_served(self) -> list[str]:
        """The organisations that should be served but could not be opened (the log
        says why), by id."""
        return sorted(self._refused)

    def entry(self, organisation_id: str) -> OrganisationEntry | None:
        opened = self._open.get(organisation_id)
        return opened.entry if opened is not None else None

    def entries(self) -> dict[str, OrganisationEntry]:
        return {organisation_id: o.entry for organisation_id, o in self._open.items()}

    async def reconcile(self) -> None:
        """Serve exactly the active organisations the folder holds now."""
        wanted: dict[str, Organisation] = {}
        unreadable: set[str] = set()
        present = organisation_ids(self.config)
        for gone in set(self._read) - set(present):
            del self._read[gone]
        for organisation_id in present:
            try:
                organisation = self._organisation(organisation_id)
            except ConfigError as exc:
                self._refuse(organisation_id, str(exc))
                unreadable.add(organisation_id)
                continue
            if organisation.entry.active:
                wanted[organisation_id] = organisation
        for organisation_id in set(self._refused) - unreadable - set(wanted):
            del self._refused[organisation_id]  # suspended or removed since
        for organisation_id in [i for i in self._open if i not in wanted]:
            await self._close(organisation_id)
        for organisation_id, organisation in wanted.items():
            opened = self._open.get(organisation_id)
            if opened is not None:
                if opened.tables == organisation.tables:
                    opened.entry = organisation.entry  # a new host name or code
                    continue
                # Its settings changed (an adviser's new room): opened again with them.
                await self._close(organisation_id)
            await self._open_one(organisation)

    def _organisation(self, organisation_id: str) -> Organisation:
        """Its file read again only when it changed."""
        folder = folder_of(self.config.organisations_dir, organisation_id)
        stamp = _stamp(folder.file)
        known = self._read.get(organisation_id)
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        self._read.pop(organisation_id, None)
        organisation = read_organisation(folder)
        if stamp is not None:
            self._read[organisation_id] = (stamp, organisation)
        return organisation

    def _refuse(self, organisation_id: str, why: str) -> None:
        if self._refused.get(organisation_id) != why:
            self._refused[organisation_id] = why
            log.error("organisation %s is not served: %s", organisation_id, why)

    async def _open_one(self, organisation: Organisation) -> None:
        stack = contextlib.AsyncExitStack()
        try:
            config = organisation_config(self.config_file, organisation, bureau=self.config)
            others = {i: o.runtime.config for i, o in self._open.items()}
            clash = room_clash(organisation.id, config, others)
            if clash is not None:
                raise ConfigError(clash)
            lock = run_lock.acquire(config.bot.data_dir)
            stack.callback(lock.release)
            runtime = await stack.enter_async_context(
                open_runtime(config, self.clock, shared=self.shared)
            )
        except (ConfigError, KeyFileError, StoreError, TextsInvalid, run_lock.DataDirLocked) as exc:
            await stack.aclose()
            self._refuse(organisation.id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - one organisation never stops the others
            await stack.aclose()
            self._refuse(organisation.id, describe_failure(exc))
            return
        self._refused.pop(organisation.id, None)
        self._open[organisation.id] = _Open(runtime, organisation.entry, stack, organisation.tables)
        for listener in self.on_opened:
            await listener(organisation.id, runtime)
        log.info("organisation %s served", organisation.id)

    async def _close(self, organisation_id: str) -> None:
        opened = self._open.pop(organisation_id)
        for listener in self.on_closing:
            await listener(organisation_id)
        await opened.stack.aclose()
        log.info("organisation %s no longer served", organisation_id)

    async def watch(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.reconcile()
            except Exception as exc:  # noqa: BLE001 - the next look tries again
                log.error("organisations: could not look at the folder: %s", describe_failure(exc))

    async def close_all(self) -> None:
        for organisation_id in list(self._open):
            await self._close(organisation_id)


def _observer(config: Config, clock: Callable[[], float]) -> Observer | None:
    if config.ops is None:
        return None
    from bot.ops.metrics import PrometheusObserver  # prometheus-client: only when asked for

    return PrometheusObserver(clock)


@contextlib.asynccontextmanager
async def open_bureau(
    config: Config,
    config_file: Path | None,
    clock: Callable[[], float] = time.time,
    *,
    preload_scorer: bool = False,
) -> AsyncIterator[Bureau]:
    """The bureau with every active organisation open; all closed again on exit."""
    prepare_data_dir(config.bot.data_dir)
    prepare_data_dir(config.organisations_dir)
    # The bureau's own key: its Matrix login, and which organisation people chose.
    cipher = FieldCipher(keys_for_data(config))
    scoring = ScoringService()
    session = _matrix_session(config, cipher)
    bureau = Bureau(config, config_file, Shared(scoring, session, _observer(config, clock)), clock)
    bureau.cipher = cipher
    async with contextlib.AsyncExitStack() as resources:
        resources.push_async_callback(scoring.close)
        if session is not None:
            resources.push_async_callback(session.close)
        resources.push_async_callback(bureau.close_all)
        await bureau.reconcile()
        interval = config.bot.texts_reload_seconds
        watchers = [
            asyncio.create_task(bureau.watch(interval)),
            # `vertrouwd keys rotate` of the bureau's own folder, while it runs.
            asyncio.create_task(watch_key_file(config.key_file, cipher, interval)),
        ]
        try:
            if preload_scorer:
                scoring.start()
            yield bureau
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
