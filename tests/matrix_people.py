"""People on the test homeserver: the adviser's clients and strangers, with real E2EE."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    MegolmEvent,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
    UnknownToDeviceEvent,
)

from bot.matrix.http import MatrixHttp
from bot.matrix.identity import CrossSigningKeys, ensure_cross_signed
from tests.synapse_server import Synapse


class MatrixPerson:
    def __init__(
        self,
        synapse: Synapse,
        user_id: str,
        password: str,
        folder: Path,
        device_name: str = "test device",
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.user_id = user_id
        self.password = password
        self.device_name = device_name
        self.client = AsyncClient(
            synapse.url,
            user_id,
            store_path=str(folder),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.texts: list[dict[str, Any]] = []
        self.notices: list[str] = []
        self.undecryptable = 0
        self.text_events: list[RoomMessageText] = []  # with nio's "decrypted" flag
        self.notice_events: list[RoomMessageNotice] = []
        self.undecryptable_events: list[MegolmEvent] = []
        self.to_device: list[dict[str, Any]] = []  # events nio does not handle itself

    async def login(self) -> MatrixPerson:
        response = await self.client.login(self.password, device_name=self.device_name)
        assert isinstance(response, LoginResponse), response
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)
        return self

    async def cross_sign(self, keys: CrossSigningKeys | None = None) -> CrossSigningKeys:
        """Create (or reuse) this user's identity and sign this device with it."""
        keys = keys or CrossSigningKeys.generate()
        await ensure_cross_signed(
            MatrixHttp(self.client),
            self.user_id,
            self.client.device_id,
            keys,
            lambda: self.password,
            dict(self.client.olm.account.identity_keys),
        )
        return keys

    async def join(self, room_id: str) -> None:
        await self.client.sync(timeout=0)
        response = await self.client.join(room_id)
        assert getattr(response, "room_id", None) == room_id, response
        await self.client.sync(timeout=0)

    async def leave(self, room_id: str) -> None:
        await self.client.room_leave(room_id)

    async def collect(
        self,
        room_id: str,
        seconds: float,
        want: int = 1,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """Sync for up to ``seconds``, decrypting what arrives in ``room_id``, until
        ``want`` texts are there (or, given, until ``until()`` holds)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            response = await self.client.sync(timeout=500)
            for to_device in getattr(response, "to_device_events", []):
                if isinstance(to_device, UnknownToDeviceEvent):
                    self.to_device.append(to_device.source)
            room = getattr(response, "rooms", None)
            timeline = (
                room.join.get(room_id).timeline.events if room and room_id in room.join else []
            )
            for event in timeline:
                if event.sender == self.user_id:
                    continue  # what this person sent themselves
                if isinstance(event, RoomMessageText):
                    self.texts.append(event.source["content"])
                    self.text_events.append(event)
                elif isinstance(event, RoomMessageNotice):
                    self.notices.append(event.body)
                    self.notice_events.append(event)
                elif isinstance(event, MegolmEvent):
                    self.undecryptable += 1
                    self.undecryptable_events.append(event)
            if until is not None:
                if until():
                    return
            elif len(self.texts) + self.undecryptable >= want:
                return
            await asyncio.sleep(0.05)

    async def until_seen(
        self, room_id: str, seen: Callable[[MatrixPerson], bool], seconds: float = 30.0
    ) -> None:
        """Sync until ``seen`` holds for what this person has received in the room (a
        condition on what arrived, never a count of messages that can race)."""
        if not seen(self):
            await self.collect(room_id, seconds, until=lambda: seen(self))
        assert seen(self), "timed out waiting in the room"

    async def send_text(
        self,
        room_id: str,
        body: str,
        thread_root: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """An encrypted message, in a thread when ``thread_root`` is given (as Element
        sends it), or a plain reply to ``reply_to``; returns its event id."""
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        if thread_root is not None:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread_root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": thread_root},
            }
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def close(self) -> None:
        await self.client.close()
