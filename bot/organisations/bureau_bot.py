"""The bureau's own Telegram bot (the bureau config's [telegram]) and its Matrix direct
chats ([matrix_dm]), each in front of the organisation chooser; and the way back: every
organisation's relays (the adviser's answers, check-ins) to a person who came in this
way go out through the same bot or chat.

An organisation with a Telegram bot of its own is served there only: its relays on
Telegram go through its own bot, so the bureau's bot does not take its code."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from bot.keys.crypto import FieldCipher
from bot.keys.guard import keys_for_data
from bot.line.relay import EmployeeSender
from bot.organisations.chooser import OrganisationChooser, OtherRooms
from bot.runtime import Runtime
from bot.runtime.bureau import Bureau
from bot.store.organisation_links import OrganisationLinks
from bot.texts.catalog import Catalog
from bot.texts.live import LiveCatalog

if TYPE_CHECKING:
    from bot.adapters.matrix_dm.channel import MatrixDmChannel
    from bot.adapters.telegram.channel import TelegramChannel

TELEGRAM = "telegram"  # the adapters' own channel names
MATRIX = "matrix"


def _without_own_bot(runtime: Runtime) -> bool:
    return runtime.config.telegram is None


class BureauBot:
    """Runs while the bureau serves: the links opened, the relays mounted on every
    organisation as it opens, the bureau's Telegram bot polling."""

    def __init__(self, bureau: Bureau) -> None:
        self._bureau = bureau
        config = bureau.config
        keys = keys_for_data(config)
        self._cipher = bureau.cipher or FieldCipher(keys)
        # The bureau's own texts (its name, the code step), following edits while it runs.
        self.texts = LiveCatalog(config)
        texts = self.texts

        def catalog() -> Catalog:
            return texts.current

        self.choosers: list[OrganisationChooser] = []
        self.telegram: TelegramChannel | None = None
        self.matrix_dm: MatrixDmChannel | None = None
        if config.telegram is not None:
            from bot.adapters.telegram.channel import TelegramChannel

            chooser = OrganisationChooser(bureau, TELEGRAM, keys, catalog, serves=_without_own_bot)
            self.choosers.append(chooser)
            self.telegram = TelegramChannel(
                config.telegram, config.telegram_token(), chooser, catalog
            )
            texts.reload_listeners.append(self.telegram.texts_changed)
        session = bureau.shared.matrix_session
        if config.matrix_dm is not None and session is not None:
            # Built now, before the first sync: the channel must see every sync.
            from bot.adapters.matrix_dm.channel import MatrixDmChannel

            chooser = OrganisationChooser(bureau, MATRIX, keys, catalog)
            self.choosers.append(chooser)
            self.matrix_dm = MatrixDmChannel(session, config.matrix_dm, chooser, OtherRooms(bureau))

    def _senders(self, runtime: Runtime) -> list[tuple[str, EmployeeSender]]:
        senders: list[tuple[str, EmployeeSender]] = []
        if self.telegram is not None and _without_own_bot(runtime):
            senders.append((TELEGRAM, self.telegram))
        if self.matrix_dm is not None:
            senders.append((MATRIX, self.matrix_dm))
        return senders

    async def _mount(self, organisation_id: str, runtime: Runtime) -> None:
        for channel, sender in self._senders(runtime):
            runtime.relay.serve(channel, sender)

    def _unmount(self) -> None:
        for runtime in self._bureau.runtimes.values():
            for channel, sender in self._senders(runtime):
                if runtime.relay.senders.get(channel) is sender:
                    runtime.relay.senders.pop(channel)

    async def run(self, stopping: asyncio.Event) -> None:
        links = await OrganisationLinks.open(self._bureau.config.bot.data_dir, self._cipher)
        for chooser in self.choosers:
            chooser.links = links
            chooser.ready.set()
        for organisation_id, runtime in self._bureau.runtimes.items():
            await self._mount(organisation_id, runtime)
        self._bureau.on_opened.append(self._mount)
        watch = asyncio.create_task(self.texts.watch(self._bureau.config.bot.texts_reload_seconds))
        try:
            if self.telegram is not None:
                await self.telegram.run(stopping)
            else:
                await stopping.wait()
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            with contextlib.suppress(ValueError):
                self._bureau.on_opened.remove(self._mount)
            self._unmount()
            await links.close()
