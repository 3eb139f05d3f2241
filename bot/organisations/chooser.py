"""The organisation chooser: what the bureau's own bot and its Matrix direct chats talk
to instead of one organisation's engine.

A person linked to an organisation talks to that organisation's engine, as if its own
bot served them. A person not linked yet is asked for the code on their organisation's
poster first (``bot/flows/chooser.py``), and confirms the organisation it names before
anything personal is asked. The link is kept for restarts (``OrganisationLinks``); one
to an organisation the bureau no longer serves counts as none.

Nothing here logs a person's id, a code typed, or which organisation a person is with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Container
from typing import Any

from bot.flows.chooser import ChooserStep, Choosing, Known, choose, switching
from bot.flows.danger.tiers import NOTHING, Heard, hear
from bot.keys.crypto import KeyMaterial, UserKey, UserKeyer
from bot.messages import Deliver, Inbound, InboundKind, Reply
from bot.runtime import Runtime
from bot.runtime.bureau import Bureau
from bot.store.organisation_links import Link, OrganisationLinks
from bot.texts.catalog import Catalog, Texts
from bot.util.held import Held
from bot.util.locks import KeyedLocks
from bot.util.ratelimit import CodeThrottle, FloodLimiter

log = logging.getLogger(__name__)

# How long a person who has not given a code yet is remembered (in memory only).
CHOOSING_SECONDS = 30 * 60.0


class OrganisationChooser:
    def __init__(
        self,
        bureau: Bureau,
        channel: str,
        keys: KeyMaterial,
        catalog: Callable[[], Catalog],
        *,
        serves: Callable[[Runtime], bool] = lambda runtime: True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bureau = bureau
        self._channel = channel
        self._keyer = UserKeyer(keys)
        self._catalog = catalog
        # Which organisations a code on this channel may open (not one with a bot of its own).
        self._serves = serves
        self._clock = clock
        self.links: OrganisationLinks | None = None  # set once opened (by the channel)
        self.ready = asyncio.Event()
        self._held: Held[UserKey, Choosing] = Held(CHOOSING_SECONDS)
        self._locks: KeyedLocks[UserKey] = KeyedLocks()
        limits = bureau.config.limits
        self._flood = FloodLimiter(limits.burst_messages, limits.messages_per_minute)
        self._wrong_codes = CodeThrottle()
        self.on_erased: list[Callable[[Inbound], Awaitable[None]]] = []
        for runtime in bureau.runtimes.values():
            runtime.engine.on_erased.append(self._erased)
        bureau.on_opened.append(self._opened)

    async def _opened(self, organisation_id: str, runtime: Runtime) -> None:
        runtime.engine.on_erased.append(self._erased)

    async def _erased(self, inbound: Inbound) -> None:
        """An organisation's engine erased a person (their /delete): the link goes too,
        and this channel lets go of what it holds for them."""
        if inbound.channel != self._channel:
            return
        if self.links is not None:
            await self.links.forget(self._keyer(self._channel, inbound.user_id))
        for listener in self.on_erased:
            await listener(inbound)

    # -- what the adapters ask ---------------------------------------------------------

    async def handle(self, inbound: Inbound, deliver: Deliver) -> None:
        await self.ready.wait()
        person = self._keyer(inbound.channel, inbound.user_id)
        async with self._locks.hold(person):
            runtime = await self._linked(person)
            if runtime is not None and not self._switching(inbound):
                await runtime.engine.handle(inbound, deliver)
                return
            if runtime is not None:
                assert self.links is not None
                await self.links.forget(person)
            await self._choosing(person, inbound, deliver)

    async def notice(
        self, channel: str, user_id: str, key: str, language_hint: str | None = None, **values: Any
    ) -> str:
        runtime = await self._linked(self._keyer(channel, user_id))
        if runtime is not None:
            return await runtime.engine.notice(channel, user_id, key, language_hint, **values)
        return self._texts(self._keyer(channel, user_id), language_hint)(key, **values)

    async def limited_notice(
        self, channel: str, user_id: str, key: str, language_hint: str | None = None, **values: Any
    ) -> str | None:
        person = self._keyer(channel, user_id)
        runtime = await self._linked(person)
        if runtime is not None:
            return await runtime.engine.limited_notice(
                channel, user_id, key, language_hint, **values
            )
        allowed, warn = self._flood.check(person, self._clock())
        if not allowed:
            return self._texts(person, language_hint)("input.flood") if warn else None
        return self._texts(person, language_hint)(key, **values)

    def user_key(self, channel: str, user_id: str) -> UserKey:
        """The bureau's keyed hash for this person (their link is found by it)."""
        return self._keyer(channel, user_id)

    async def conversation_state(self, user: UserKey) -> str | None:
        found = await self._link_of(user)
        return await found[0].engine.conversation_state(found[1]) if found else None

    async def keeps_anything(self, user: UserKey) -> bool:
        found = await self._link_of(user)
        return await found[0].engine.keeps_anything(found[1]) if found else False

    async def knows(self, channel: str, user_id: str) -> bool:
        person = self._keyer(channel, user_id)
        runtime = await self._linked(person)
        if runtime is not None:
            return await runtime.engine.knows(channel, user_id)
        return self._held.get(person, self._clock()) is not None

    # -- linking -----------------------------------------------------------------------

    async def _link_of(self, person: UserKey) -> tuple[Runtime, UserKey] | None:
        """The organisation a person is linked to, while the bureau serves it."""
        await self.ready.wait()
        assert self.links is not None
        link = await self.links.get(person)
        if link is None:
            return None
        runtime = self._bureau.runtimes.get(link.organisation_id)
        if runtime is None:
            if not self._exists(link.organisation_id):
                await self.links.forget(person)  # removed: nothing of it is kept
            return None  # suspended, or not opened: asked for a code as anyone new
        return runtime, link.person

    async def _linked(self, person: UserKey) -> Runtime | None:
        found = await self._link_of(person)
        return found[0] if found is not None else None

    def _exists(self, organisation_id: str) -> bool:
        return (self._bureau.config.organisations_dir / organisation_id).is_dir()

    def _switching(self, inbound: Inbound) -> bool:
        text = inbound.text or ""
        if inbound.kind is not InboundKind.MESSAGE or inbound.forwarded or not text:
            return False
        return switching(text)

    def codes(self) -> dict[str, Known]:
        """The codes that open an organisation on this channel now."""
        return {
            entry.code: Known(organisation_id, runtime.config.organisation.name)
            for organisation_id, runtime in self._bureau.runtimes.items()
            if (entry := self._bureau.entry(organisation_id)) is not None and self._serves(runtime)
        }

    async def _choosing(self, person: UserKey, inbound: Inbound, deliver: Deliver) -> None:
        now = self._clock()
        allowed, warn = self._flood.check(person, now)
        if not allowed:
            log.info("flood limit: message from a %s user not read", inbound.channel)
            if warn:
                await deliver([Reply(self._texts(person, inbound.language_hint)("input.flood"))])
            return
        held = self._held.get(person, now) or Choosing(self._language(inbound.language_hint))
        t = self._catalog().texts(held.lang)
        client = self._wrong_codes.client(inbound.channel, inbound.user_id)
        step = choose(
            inbound,
            held,
            self.codes(),
            await self._hear(inbound),
            t,
            self._bureau.config,
            throttled=self._wrong_codes.wait(client, now) > 0,
        )
        if step.wrong_code:
            self._wrong_codes.failed(client, now)
        if step.held is None:
            self._held.drop(person)
        else:
            self._held.put(person, step.held, now)
        if step.replies:
            await deliver(step.replies)
        if step.link is not None:
            await self._link(person, inbound, step, t, deliver)
        elif step.held is None:
            for listener in self.on_erased:
                await listener(inbound)

    async def _link(
        self, person: UserKey, inbound: Inbound, step: ChooserStep, t: Texts, deliver: Deliver
    ) -> None:
        """Confirmed: the link is kept, and the organisation's own bot introduces itself."""
        assert step.link is not None and self.links is not None
        runtime = self._bureau.runtimes.get(step.link.id)
        if runtime is None:  # closed a moment ago: the same answer as an unknown code
            await deliver([Reply(t("bureau.chooser.unknown"))])
            return
        own = runtime.engine.user_key(inbound.channel, inbound.user_id)
        await self.links.put(person, Link(step.link.id, own))
        self._held.drop(person)
        log.info("a person on %s was linked to their organisation", inbound.channel)
        await deliver([Reply(t("bureau.chooser.linked", organisation=step.link.name))])
        resume = Inbound(
            inbound.channel,
            inbound.user_id,
            kind=InboundKind.RESUME,
            language_hint=t.lang,
            reply_to=inbound.reply_to,
        )
        await runtime.engine.handle(resume, deliver)

    async def _hear(self, inbound: Inbound) -> Heard:
        """Danger in typed words: the bureau's patterns and its shared scorer."""
        text = inbound.text or ""
        # A code is heard too: "zelfmoord" alone has the shape of one.
        if inbound.kind is not InboundKind.MESSAGE or not text:
            return NOTHING
        match = self._catalog().danger_detector.detect(text)
        score = await self._bureau.shared.scoring.hear(inbound)
        return hear(match, score)

    def _language(self, hint: str | None) -> str:
        catalog = self._catalog()
        return hint if catalog.supports(hint) and hint is not None else catalog.default_language

    def _texts(self, person: UserKey, hint: str | None) -> Texts:
        held = self._held.get(person, self._clock())
        return self._catalog().texts(held.lang if held else self._language(hint))


class OtherRooms(Container[str]):
    """The rooms of every organisation served now that are not direct chats (advisers'
    rooms, admin rooms): their invites are never taken for one."""

    def __init__(self, bureau: Bureau) -> None:
        self._bureau = bureau

    def __contains__(self, room_id: object) -> bool:
        for runtime in self._bureau.runtimes.values():
            config = runtime.config
            if any(a.room_id == room_id for a in config.advisers if a.room_id):
                return True
            if config.admin is not None and config.admin.room_id == room_id:
                return True
        return False
