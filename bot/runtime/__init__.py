"""Wiring: from a config to a running engine, store, sink and background workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.admin.text_editor import TextEditor
from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.delivery.outbox import OutboxWorker
from bot.engine import Engine
from bot.keys.crypto import FieldCipher, KeyMaterial, UserKeyer
from bot.keys.guard import keys_for_data
from bot.keys.watch import watch_key_file
from bot.line.clock import TimerWorker
from bot.line.desk import AdviserDesk
from bot.line.relay import RelayWorker
from bot.line.retention import RetentionWorker
from bot.ops.logs import keep_content_out_of_logs
from bot.ops.observe import NO_OBSERVER, Observer
from bot.scorer.service import ScoringService
from bot.sinks.base import HandoffSink
from bot.sinks.local_inbox import LocalInbox
from bot.store import SqliteStore, StoreError
from bot.store.connection import make_data_dir
from bot.texts.catalog import Catalog
from bot.texts.live import LiveCatalog

if TYPE_CHECKING:
    from bot.adapters.matrix_dm.channel import MatrixDmChannel
    from bot.admin.room import AdminRoom
    from bot.matrix.session import Closing, MatrixSession, SyncListener

log = logging.getLogger(__name__)

_SHUTDOWN_DELIVERY_SECONDS = 10.0
_OPEN_TO_OTHERS = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH


def prepare_data_dir(path: Path) -> None:
    """Create the data folder owner-only; one that others can read or write is refused."""
    if not path.exists():
        make_data_dir(path)  # another process may be making it too
    elif path.stat().st_mode & _OPEN_TO_OTHERS:
        raise StoreError(
            f"data folder {path} can be read or written by other users; run: chmod 700 {path}"
        )


@dataclass
class Runtime:
    config: Config
    texts: LiveCatalog
    store: SqliteStore
    inbox: LocalInbox
    worker: OutboxWorker
    engine: Engine
    relay: RelayWorker
    timers: TimerWorker
    desk: AdviserDesk
    sink: HandoffSink | None = None
    matrix_session: MatrixSession | None = None
    matrix_dm: MatrixDmChannel | None = None
    editor: TextEditor | None = None
    admin_room: AdminRoom | None = None
    retention: RetentionWorker | None = None
    keys: KeyMaterial | None = None  # for channels that seal their own tokens (web)
    observer: Observer = NO_OBSERVER  # the metrics, with [ops] on

    @property
    def catalog(self) -> Catalog:
        """The texts in use now: a valid edit of the locale files replaces them."""
        return self.texts.current


def _matrix_session(config: Config, cipher: FieldCipher) -> MatrixSession | None:
    if config.matrix is None:
        return None
    # Imported here: matrix-nio and its crypto cost ~25 MB the embedded default never needs.
    from bot.matrix.session import MatrixSession

    return MatrixSession.of_account(config, cipher)


def _sink(
    config: Config, session: MatrixSession | None, texts: LiveCatalog, inbox: LocalInbox
) -> HandoffSink:
    if config.handoff.sink != "matrix":
        return inbox
    from bot.sinks.matrix_room import MatrixRoomSink

    assert session is not None  # the config loader demands [matrix] for this sink
    return MatrixRoomSink(session, config, lambda: texts.current)


def _matrix_dm(runtime: Runtime) -> MatrixDmChannel | None:
    """Built before any sync can happen: the channel must see every sync's messages."""
    config, settings = runtime.config, runtime.config.matrix_dm
    if settings is None or runtime.matrix_session is None:
        return None
    from bot.adapters.matrix_dm.channel import CHANNEL, MatrixDmChannel

    # Rooms with another purpose are never taken for a direct chat.
    elsewhere = {a.room_id for a in config.advisers if a.room_id}
    if config.admin is not None:
        elsewhere.add(config.admin.room_id)
    channel = MatrixDmChannel(
        runtime.matrix_session, settings, runtime.engine, frozenset(elsewhere)
    )
    runtime.relay.serve(CHANNEL, channel)
    return channel


def _adviser_rooms(runtime: Runtime) -> None:
    """The advisers' rooms become the adviser's side of the line."""
    if runtime.matrix_session is None or runtime.config.handoff.sink != "matrix":
        return  # and matrix-nio stays unloaded
    from bot.matrix.adviser_rooms import AdviserRooms
    from bot.sinks.matrix_room import MatrixRoomSink

    if isinstance(runtime.sink, MatrixRoomSink):
        AdviserRooms(
            runtime.matrix_session, runtime.config, runtime.desk, runtime.store, runtime.sink
        )


def _admin_room(runtime: Runtime, clock: Callable[[], float]) -> AdminRoom | None:
    config, session, editor = runtime.config, runtime.matrix_session, runtime.editor
    if config.admin is None or session is None or editor is None:
        return None
    from bot.admin.commands import AdminCommands
    from bot.admin.room import AdminRoom
    from bot.commands.doctor import adviser_checks

    async def adviser_lines() -> list[str]:
        if not session.ready or config.handoff.sink != "matrix":
            return []
        lines = []
        for adviser in config.advisers:
            for check in await adviser_checks(session, adviser.id, config):
                lines.append(f"{check.name}: {'ok' if check.ok else 'FAIL'}, {check.found}")
        return lines

    commands = AdminCommands(
        config, lambda: runtime.catalog, editor, runtime.store, adviser_lines, clock
    )
    room = AdminRoom(
        session, config.admin, commands, lambda: runtime.catalog.texts(config.bot.default_language)
    )
    runtime.texts.refusal_listeners.append(room.report_refused_files)
    return room


@dataclass
class Shared:
    """What a bureau's organisations share: one danger scorer, one Matrix account.
    None of it holds an employee's data."""

    scoring: ScoringService
    matrix_session: MatrixSession | None = None
    # With [ops] on, one set of metrics for all: counted together, never by organisation.
    observer: Observer | None = None


@contextlib.asynccontextmanager
async def open_runtime(
    config: Config,
    clock: Callable[[], float] = time.time,
    *,
    preload_scorer: bool = False,
    shared: Shared | None = None,
) -> AsyncIterator[Runtime]:
    """Open everything the bot needs; deliver what is due and close it all on exit.
    A serving bot preloads the danger scorer; otherwise it loads at the first words.
    An organisation of a bureau gets the bureau's scorer and Matrix account (``shared``)."""
    keep_content_out_of_logs(config.bot.log_level)
    prepare_data_dir(config.bot.data_dir)
    keys = keys_for_data(config)
    cipher = FieldCipher(keys)
    texts = LiveCatalog(config)
    async with contextlib.AsyncExitStack() as resources:
        # Whatever fails from here on, everything opened so far is closed again:
        # an open database thread would keep the process from ever exiting.
        store = await SqliteStore.open(
            config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
        )
        resources.push_async_callback(store.close)
        inbox = await LocalInbox.open(config.bot.data_dir, cipher, clock)
        resources.push_async_callback(inbox.close)
        # What this runtime adds to a shared session: filled once it is all built.
        own_listeners: list[SyncListener] = []
        own_closing: list[Closing] = []
        if shared is not None:
            session = shared.matrix_session if config.matrix is not None else None
            if session is not None:
                others = (list(session.listeners), list(session.closing))
            if session is not None:
                # What this organisation listens to goes with it; the account stays.
                resources.push_async_callback(_let_go, session, own_listeners, own_closing)
        else:
            session = _matrix_session(config, cipher)
            if session is not None:
                resources.push_async_callback(session.close)
        sink = _sink(config, session, texts, inbox)
        relay = RelayWorker(store, sink, lambda: texts.current, config, clock)
        timers = TimerWorker(store, config, clock, relay.wake)
        worker = OutboxWorker(
            store,
            sink,
            clock,
            config.outbox.retry_initial_seconds,
            config.outbox.retry_max_seconds,
            on_delivered=relay.wake,  # relays wait for their case's thread
        )
        if shared is not None:
            scoring = shared.scoring
        else:
            scoring = ScoringService()
            resources.push_async_callback(scoring.close)  # after the delivery below
        resources.push_async_callback(_deliver_before_closing, worker, relay)

        def line_changed() -> None:
            relay.wake()
            timers.wake()

        desk = AdviserDesk(store, config, lambda: texts.current, clock, line_changed)
        engine = Engine(
            store,
            lambda: texts.current,
            config,
            UserKeyer(keys),
            clock,
            worker.wake,
            sink.prepare,
            on_line=relay.wake,
            hear=scoring.hear,
        )
        runtime = Runtime(
            config, texts, store, inbox, worker, engine, relay, timers, desk, sink, session
        )
        runtime.editor = TextEditor(config, texts, store, clock)
        runtime.keys = keys
        _observe(runtime, clock, shared.observer if shared is not None else None)
        runtime.matrix_dm = _matrix_dm(runtime)
        runtime.admin_room = _admin_room(runtime, clock)
        _adviser_rooms(runtime)
        retention = RetentionWorker(store, sink, config, lambda: texts.current, clock)
        runtime.retention = retention
        if runtime.matrix_dm is not None:
            retention.after_purge.append(runtime.matrix_dm.forget_the_forgotten)
        tasks = [
            asyncio.create_task(worker.run(), name="outbox"),
            asyncio.create_task(relay.run(), name="relay"),
            asyncio.create_task(timers.run(), name="timers"),
            asyncio.create_task(retention.run(), name="retention"),
            asyncio.create_task(texts.watch(config.bot.texts_reload_seconds), name="texts"),
            asyncio.create_task(
                watch_key_file(config.key_file, cipher, config.bot.texts_reload_seconds),
                name="keys",
            ),
        ]
        resources.push_async_callback(_stop_tasks, tasks)
        # The model loads in the background once the rest is open (not while databases
        # are made); a typed message that comes before it is ready waits for it.
        if preload_scorer:
            scoring.start()
        if shared is not None and session is not None:
            own_listeners += [x for x in session.listeners if x not in others[0]]
            own_closing += [x for x in session.closing if x not in others[1]]
        yield runtime


async def _let_go(
    session: MatrixSession, listeners: list[SyncListener], closing: list[Closing]
) -> None:
    """An organisation closes on the bureau's account: its own listeners stop (the other
    organisations' go on), and what its sink does on closing (dropping room keys it
    shared ahead) is done now, not kept."""
    session.listeners[:] = [listener for listener in session.listeners if listener not in listeners]
    session.closing[:] = [callback for callback in session.closing if callback not in closing]
    for callback in closing:
        await callback()


def _observe(runtime: Runtime, clock: Callable[[], float], shared: Observer | None) -> None:
    """With [ops] on, the engine, the delivery loops and the texts report to the metrics
    (a bureau's organisations all to the bureau's one ``shared`` observer)."""
    if runtime.config.ops is None:
        return
    if shared is None:
        from bot.ops.metrics import PrometheusObserver  # prometheus-client: when asked for

        shared = PrometheusObserver(clock)
    observer = runtime.observer = shared
    runtime.engine.observer = runtime.worker.observer = runtime.relay.observer = observer

    async def applied(catalog: Catalog) -> None:
        observer.texts_reloaded(applied=True)

    async def refused(problems: object) -> None:
        observer.texts_reloaded(applied=False)

    runtime.texts.reload_listeners.append(applied)
    runtime.texts.refusal_listeners.append(refused)


async def _stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, Exception):
            log.error("background task %s had failed: %s", task.get_name(), type(result).__name__)


async def _deliver_before_closing(worker: OutboxWorker, relay: RelayWorker) -> None:
    async def both() -> None:
        await worker.deliver_due()
        await relay.deliver_due()

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(both(), _SHUTDOWN_DELIVERY_SECONDS)
