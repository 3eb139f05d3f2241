"""Who in an employee's direct chat gets the room key: Element's rule for people.

When the employee has a cross-signing identity, only the devices that identity
signed get the key; the others are told why (``m.room_key.withheld``). That identity
is pinned the first time it is seen: once it changes, nothing personal is sent until
the direct chat channel has settled it with the employee. Without an identity, every
device of theirs gets the key, as Element does for people who never set one up.

The devices are judged by the same chain check as the advisers' (``trust.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from nio import AsyncClient, MatrixRoom

from bot.matrix.errors import HomeserverUnreachable, MatrixHttpError
from bot.matrix.session import MatrixSession
from bot.matrix.trust import DeviceTrust, device_trust
from bot.matrix.withheld import Device, WithheldNotices, left_out
from bot.util.locks import KeyedLocks

log = logging.getLogger(__name__)

# A device list is fetched again after this long even without news of a change.
_TRUST_KEPT_SECONDS = 60.0


class IdentityChanged(Exception):
    """The employee's identity is not the one pinned: nothing personal may go out."""


@dataclass(frozen=True)
class PersonKeys:
    person: str
    ref: str  # the keyed hash of their id, hex: the pin is kept under it
    trust: DeviceTrust
    pinned: str | None  # the master key first seen; None while they have none

    @property
    def changed(self) -> bool:
        return self.pinned is not None and self.pinned != self.trust.master_key

    def allows(self, device_id: str, ed25519: str) -> bool:
        """Whether this device gets the key under the rule (the pin aside)."""
        if self.trust.master_key is None:
            return True
        return self.trust.eligible.get(device_id) == ed25519


class DirectChatKeys:
    def __init__(self, session: MatrixSession) -> None:
        self._session = session
        self._withheld = WithheldNotices()
        self._trust: dict[str, tuple[float, DeviceTrust]] = {}
        # One send at a time per room: the session shared is the one encrypted with.
        self._rooms: KeyedLocks[str] = KeyedLocks()

    def forget(self, user_ids: Iterable[str]) -> None:
        """Their devices or identity changed (a sync said so): ask the server again."""
        for user_id in user_ids:
            self._trust.pop(user_id, None)

    async def of(self, person: str, ref: str) -> PersonKeys:
        """The person's devices and identity now; an identity seen first is pinned."""
        now = time.monotonic()
        cached = self._trust.get(person)
        if cached is None or now - cached[0] > _TRUST_KEPT_SECONDS:
            http = self._session.http
            if http is None:
                raise HomeserverUnreachable("session closed")
            try:
                answer = await http.keys_query([person])
            except MatrixHttpError as exc:  # as if away: the message waits, nothing unsafe
                raise HomeserverUnreachable(f"keys query: {exc.errcode or exc.status}") from exc
            cached = (now, device_trust(answer, person))
            self._trust[person] = cached
        trust = cached[1]
        pins = self._session.state.employee_master_keys
        if trust.master_key is not None and ref not in pins:
            pins[ref] = trust.master_key
            self._session.save_state()
            log.info("pinned the identity of an employee in a direct chat")
        return PersonKeys(person, ref, trust, pins.get(ref))

    def repin(self, keys: PersonKeys) -> None:
        """Take the identity the person has now (when nothing of theirs is kept any more)."""
        pins = self._session.state.employee_master_keys
        if keys.trust.master_key is None:
            pins.pop(keys.ref, None)
        else:
            pins[keys.ref] = keys.trust.master_key
        self._session.save_state()
        log.info("an employee's changed identity was pinned, with nothing of theirs kept")

    async def prune(self, keeps_anything: Callable[[str], Awaitable[bool]]) -> None:
        """Drop the pins of people of whom nothing is kept any more (erased, expired)."""
        pins = self._session.state.employee_master_keys
        gone = [ref for ref in list(pins) if not await keeps_anything(ref)]
        for ref in gone:
            del pins[ref]
        if gone:
            self._session.save_state()
            log.info("dropped %d pinned employee identities with nothing kept", len(gone))

    @asynccontextmanager
    async def sending(
        self,
        client: AsyncClient,
        room: MatrixRoom,
        keys: PersonKeys,
        reason: Callable[[], Awaitable[str]],
        *,
        to_every_device: bool = False,
    ) -> AsyncIterator[None]:
        """Share the room key by the rule, then let the block send in the room.

        ``to_every_device`` is for a message that says nothing personal (why the bot
        stopped): it reaches the person on any device, in a session of its own."""
        if keys.changed and not to_every_device:
            raise IdentityChanged
        async with self._rooms.hold(room.room_id):
            wanted = self._apply(client, keys, to_every_device)
            await self._share(client, room, wanted)
            try:
                yield
            finally:
                if to_every_device:
                    client.invalidate_outbound_session(room.room_id)
            http = self._session.http
            if http is not None:
                devices = left_out(client, room.users)
                await self._withheld.tell(client, http, room.room_id, devices, reason)

    @staticmethod
    def _apply(client: AsyncClient, keys: PersonKeys, to_every_device: bool) -> set[Device]:
        """Mark the person's devices in nio: who gets the key, who is left out."""
        wanted: set[Device] = set()
        for device in client.device_store.active_user_devices(keys.person):
            signed = keys.trust.eligible.get(device.id) == device.ed25519
            if to_every_device or keys.allows(device.id, device.ed25519):
                if device.blacklisted:
                    client.unblacklist_device(device)
                if signed and not device.verified:
                    client.verify_device(device)
                wanted.add((keys.person, device.id))
            elif not device.blacklisted:
                client.blacklist_device(device)
        return wanted

    @staticmethod
    async def _share(client: AsyncClient, room: MatrixRoom, wanted: set[Device]) -> None:
        assert client.olm is not None
        current = client.olm.outbound_group_sessions.get(room.room_id)
        if current is not None and current.shared and not current.users_shared_with <= wanted:
            client.invalidate_outbound_session(room.room_id)  # someone left out since
        if client.olm.should_share_group_session(room.room_id):
            # Unverified devices still wanted are those of a person without an
            # identity; every other device is blacklisted above.
            await client.share_group_session(room.room_id, ignore_unverified_devices=True)
