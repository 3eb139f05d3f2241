"""The Matrix handoff sink: into the adviser's private room, end-to-end encrypted.

Before every delivery it checks the room (guard), the adviser's identity (pinned
master key) and which of the adviser's devices are cross-signed; only those get
the room key. Anything wrong makes the handoff wait in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from nio import AsyncClient, RoomRedactResponse, RoomSendResponse
from nio.exceptions import OlmUnverifiedDeviceError

from bot.config import Adviser, Config, ConfigError
from bot.matrix.errors import (
    CrossSigningError,
    HomeserverUnreachable,
    LoginFailed,
    MatrixHttpError,
)
from bot.matrix.guard import room_problems
from bot.matrix.http import NETWORK_ERRORS, MatrixHttp
from bot.matrix.render import handoff_message, notice, thread_message
from bot.matrix.room_keys import OneUseRoomKeys
from bot.matrix.session import MatrixSession
from bot.matrix.trust import DeviceTrust, device_trust, trust_problem
from bot.matrix.withheld import WithheldNotices, left_out
from bot.sinks.base import CasePosts, DeliveryDeferred, OutgoingHandoff, Receipt, ThreadPost
from bot.texts.catalog import Catalog, Texts

log = logging.getLogger(__name__)

# Checks started when the handoff was being committed count as "right before
# delivery" only if they are this recent.
_PREPARED_FRESH_SECONDS = 2.0


class MatrixRoomSink:
    name = "matrix"

    def __init__(
        self, session: MatrixSession, config: Config, catalog: Callable[[], Catalog]
    ) -> None:
        self.session = session
        self._config = config
        self._catalog = catalog
        self._prepared: dict[str, tuple[float, asyncio.Task[tuple[Any, Any]]]] = {}
        self._withheld = WithheldNotices()
        self._keys = OneUseRoomKeys()
        session.closing.append(lambda: self._keys.close(session.client))

    def prepare(self, adviser_id: str) -> None:
        """Start the room and device checks while the handoff is being committed."""
        try:
            adviser = self._config.adviser(adviser_id)
        except ConfigError:
            return
        http = self.session.http
        if not self.session.ready or http is None or not adviser.room_id:
            return
        task = asyncio.create_task(self._fetch_checks(adviser))
        # Consumed by _deliver, or dropped unread when stale; never an unhandled error.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._prepared[adviser_id] = (time.monotonic(), task)

    async def _fetch_checks(self, adviser: Adviser) -> tuple[Any, Any]:
        http = self.session.http
        assert http is not None
        state, keys = await asyncio.gather(
            http.room_state(adviser.room_id), http.keys_query([adviser.matrix_user_id])
        )
        return state, keys

    async def _checks(self, adviser: Adviser) -> tuple[Any, Any]:
        """The room state and device keys as the server has them now (a few ms at most)."""
        prepared = self._prepared.pop(adviser.id, None)
        if prepared is not None:
            started, task = prepared
            if time.monotonic() - started < _PREPARED_FRESH_SECONDS:
                # A failed early check is simply made again below, where errors surface.
                with contextlib.suppress(HomeserverUnreachable, MatrixHttpError):
                    return await task
            else:
                task.cancel()
        return await self._fetch_checks(adviser)

    def _texts(self, adviser: Adviser) -> Texts:
        return self._catalog().texts(adviser.language)  # the default where unsupported

    def _adviser_for(self, adviser_id: str) -> Adviser:
        try:
            adviser = self._config.adviser(adviser_id)
        except ConfigError as exc:
            raise DeliveryDeferred("adviser-not-configured") from exc
        if not adviser.room_id or not adviser.matrix_user_id:
            raise DeliveryDeferred("adviser-room-not-configured")
        return adviser

    async def deliver(self, handoff: OutgoingHandoff) -> Receipt:
        adviser = self._adviser_for(handoff.adviser_id)

        def render() -> dict[str, Any]:
            return handoff_message(handoff.payload, self._texts(adviser), self._config)

        return await self._guarded(adviser, handoff.case_ref, render, handoff.txn_id)

    async def post_in_thread(self, post: ThreadPost) -> Receipt:
        """A relay or notice in the case's thread, under the same checks as a handoff.

        If the adviser's room was replaced since the handoff, it goes to the new room,
        outside any thread (the old thread is not there)."""
        adviser = self._adviser_for(post.adviser_id)
        root = post.thread_root if post.room_id == adviser.room_id else None

        def render() -> dict[str, Any]:
            return thread_message(post.content.text, root, notify=post.content.notify)

        return await self._guarded(adviser, post.case_ref, render, post.txn_id)

    async def _guarded(
        self, adviser: Adviser, case_ref: str, render: Callable[[], dict[str, Any]], txn_id: str
    ) -> Receipt:
        try:
            if not self.session.ready:
                await self.session.open()
            return await self._send_checked(adviser, case_ref, render, txn_id)
        except (HomeserverUnreachable, *NETWORK_ERRORS) as exc:
            raise DeliveryDeferred("homeserver-unreachable") from exc
        except ConfigError as exc:
            log.error("matrix: %s", exc)
            raise DeliveryDeferred("password-missing") from exc
        except LoginFailed as exc:
            log.error("matrix login refused: check matrix.user_id and the password")
            raise DeliveryDeferred("login-failed") from exc
        except CrossSigningError as exc:
            log.error("matrix cross-signing failed: %s", exc)
            raise DeliveryDeferred("cross-signing-failed") from exc
        except MatrixHttpError as exc:
            if exc.errcode == "M_UNKNOWN_TOKEN":
                await self.session.close()  # the next attempt logs in again
            raise DeliveryDeferred(f"homeserver-error:{exc.errcode or exc.status}") from exc

    async def _send_checked(
        self, adviser: Adviser, case_ref: str, render: Callable[[], dict[str, Any]], txn_id: str
    ) -> Receipt:
        session = self.session
        client, http = session.client, session.http
        assert client is not None and http is not None
        room_id, bot = adviser.room_id, session.settings.user_id
        # The server's own view, fetched fresh and side by side: the room as it is
        # now, and the adviser's identity and devices as they are now.
        checks = asyncio.ensure_future(self._checks(adviser))
        # Rendering needs no answer from the server: do it while the checks travel.
        content = render()
        try:
            state, keys = await checks
        except BaseException:
            checks.cancel()
            raise
        problems = room_problems(state, bot, adviser.matrix_user_id)
        if problems:
            log.warning(
                "case %s waits: room of adviser %s is not safe (%s)",
                case_ref,
                adviser.id,
                ", ".join(problems),
            )
            raise DeliveryDeferred("room-guard:" + ",".join(problems))
        trust = device_trust(keys, adviser.matrix_user_id)
        self._check_identity(adviser, trust, case_ref)
        if self._nio_is_behind(client, room_id, adviser, trust):
            await session.sync()
        async with self._keys.lock(room_id):
            excluded_now = await self._apply_trust(client, room_id, adviser, trust)
            # A room key of its own for every message about a case (bot/matrix/room_keys.py).
            self._keys.drop_used(client, room_id)
            await self._share_room_key(client, room_id, adviser, trust, case_ref)
            # Left-out devices are told why, for this message's own session (before the
            # bot drops its copy of it, and before any notice opens another).
            await self._tell_left_out(client, http, room_id, adviser)
            try:
                response = await client.room_send(room_id, "m.room.message", content, tx_id=txn_id)
            finally:
                self._keys.drop(client, room_id)
        if not isinstance(response, RoomSendResponse):
            if getattr(response, "status_code", None) == "M_UNKNOWN_TOKEN":
                raise MatrixHttpError(401, "M_UNKNOWN_TOKEN", {})
            # A rate limit says when to come back; anything else backs off as usual.
            retry_ms = getattr(response, "retry_after_ms", None)
            raise DeliveryDeferred(
                f"send-refused:{getattr(response, 'status_code', '?')}",
                retry_after=retry_ms / 1000 if retry_ms else None,
            )
        await self._announce_exclusions(client, room_id, adviser, excluded_now)
        self._keys.share_next(room_id, lambda: self._share_ahead(client, room_id, adviser, trust))
        return Receipt(str(response.event_id), room_id)

    async def _tell_left_out(
        self, client: AsyncClient, http: MatrixHttp, room_id: str, adviser: Adviser
    ) -> None:
        room = client.rooms.get(room_id)
        if room is None:
            return

        async def reason() -> str:
            return self._texts(adviser)("key_sharing.withheld_reason")

        await self._withheld.tell(client, http, room_id, left_out(client, room.users), reason)

    async def _share_ahead(
        self, client: AsyncClient, room_id: str, adviser: Adviser, trust: DeviceTrust
    ) -> None:
        self._keys.drop_used(client, room_id)  # the exclusion notice's, if one was sent
        await self._share_room_key(client, room_id, adviser, trust, "(next)")

    @staticmethod
    def _nio_is_behind(
        client: AsyncClient, room_id: str, adviser: Adviser, trust: DeviceTrust
    ) -> bool:
        """Whether nio's synced view lacks the room, the adviser or an eligible device.

        Staleness the other way round is harmless: every device nio knows that is
        not eligible gets blacklisted, and devices nio does not know get nothing.
        """
        room = client.rooms.get(room_id)
        if room is None or adviser.matrix_user_id not in room.users:
            return True
        known = {d.id for d in client.device_store.active_user_devices(adviser.matrix_user_id)}
        return not set(trust.eligible) <= known

    def _check_identity(self, adviser: Adviser, trust: DeviceTrust, case_ref: str) -> None:
        pins = self.session.state.pinned_master_keys
        if trust.master_key is not None and adviser.matrix_user_id not in pins:
            pins[adviser.matrix_user_id] = trust.master_key
            self.session.save_state()
            log.info("pinned the identity of adviser %s", adviser.id)
        problem = trust_problem(trust, pins.get(adviser.matrix_user_id))
        if problem is None:
            return
        if problem == "adviser-identity-changed":
            log.error(
                "case %s waits: the identity of adviser %s CHANGED; an admin must "
                "check with the adviser before delivery resumes",
                case_ref,
                adviser.id,
            )
        else:
            log.warning("case %s waits: adviser %s (%s)", case_ref, adviser.id, problem)
        raise DeliveryDeferred(problem)

    async def _apply_trust(
        self, client: AsyncClient, room_id: str, adviser: Adviser, trust: DeviceTrust
    ) -> dict[str, str]:
        """Verify exactly the eligible devices in nio, blacklist every other one."""
        room = client.rooms.get(room_id)
        if room is None:
            raise DeliveryDeferred("bot-not-in-room")
        if not room.members_synced:
            await client.joined_members(room_id)
        if client.should_query_keys:
            await client.keys_query()
        excluded: dict[str, str] = {}
        for user_id in room.users:
            for device in client.device_store.active_user_devices(user_id):
                wanted = (
                    trust.eligible.get(device.id) if user_id == adviser.matrix_user_id else None
                )
                if wanted is not None and device.ed25519 == wanted:
                    if device.blacklisted:
                        client.unblacklist_device(device)
                    if not device.verified:
                        client.verify_device(device)
                    continue
                if not device.blacklisted:
                    client.blacklist_device(device)
                if user_id == adviser.matrix_user_id:
                    excluded[device.id] = trust.excluded.get(device.id, device.id)
        return excluded

    async def _share_room_key(
        self,
        client: AsyncClient,
        room_id: str,
        adviser: Adviser,
        trust: DeviceTrust,
        case_ref: str,
    ) -> None:
        """Share the room key with eligible devices first: a send alone proves nothing."""
        assert client.olm is not None
        wanted = {(adviser.matrix_user_id, device) for device in trust.eligible}
        current = client.olm.outbound_group_sessions.get(room_id)
        if (
            current is not None
            and current.shared
            and (
                not current.users_shared_with <= wanted
                or not current.users_shared_with & wanted
                or wanted - current.users_shared_with  # shared ahead before a device came
            )
        ):
            client.invalidate_outbound_session(room_id)
        if client.olm.should_share_group_session(room_id):
            try:
                await client.share_group_session(room_id)
            except OlmUnverifiedDeviceError as exc:
                raise DeliveryDeferred("unknown-device-in-room") from exc
        session = client.olm.outbound_group_sessions.get(room_id)
        if session is None or not session.users_shared_with & wanted:
            client.invalidate_outbound_session(room_id)
            log.warning(
                "case %s waits: no verified device of adviser %s got the room key",
                case_ref,
                adviser.id,
            )
            raise DeliveryDeferred("room-key-not-shared")

    async def _announce_exclusions(
        self, client: AsyncClient, room_id: str, adviser: Adviser, excluded: dict[str, str]
    ) -> None:
        announced = self.session.state.announced_exclusions.setdefault(room_id, [])
        fresh = {d: n for d, n in excluded.items() if d not in announced}
        if not fresh:
            return
        t = self._texts(adviser)
        for device, name in sorted(fresh.items()):
            content: dict[str, Any] = notice(t("matrix.device_excluded", device=device, name=name))
            await client.room_send(
                room_id, "m.room.message", content, tx_id=f"vertrouwd-excluded-{room_id}-{device}"
            )
            log.warning("adviser %s: device %s left out (not cross-signed)", adviser.id, device)
        announced.extend(sorted(fresh))
        self.session.save_state()

    async def remove_posts(self, posts: CasePosts) -> None:
        """Redact the bot's own events about the case; each redaction has its own
        transaction id, so a retry after a failure redacts nothing twice."""
        try:
            if not self.session.ready:
                await self.session.open()
            client = self.session.client
            assert client is not None
            for event_id in posts.event_ids:
                response = await client.room_redact(
                    posts.room_id, event_id, tx_id=f"vertrouwd-redact-{event_id}"
                )
                if not isinstance(response, RoomRedactResponse):
                    status = getattr(response, "status_code", "?")
                    raise DeliveryDeferred(f"redaction-refused:{status}")
        except (HomeserverUnreachable, LoginFailed, MatrixHttpError, *NETWORK_ERRORS) as exc:
            raise DeliveryDeferred("homeserver-unreachable") from exc

    async def close(self) -> None:
        await self.session.close()
