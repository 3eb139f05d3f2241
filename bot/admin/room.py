"""The admin room in Matrix: commands from the configured admins, answers as notices.

Anyone else who writes there gets a refusal, and the attempt is logged without what
was written. An admin's command counts only when it was decrypted from a device the
admin's own identity (pinned at first sight) cross-signed. A refused edit of the
locale files on disk is reported here too.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping

from nio import (
    AsyncClient,
    InviteMemberEvent,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)

from bot.admin.commands import AdminCommands
from bot.config import AdminSettings
from bot.matrix.http import NETWORK_ERRORS
from bot.matrix.render import notice
from bot.matrix.sender_trust import sender_problem
from bot.matrix.session import MatrixSession
from bot.texts.catalog import Problem, Texts
from bot.util.failures import describe_failure

log = logging.getLogger(__name__)


class AdminRoom:
    def __init__(
        self,
        session: MatrixSession,
        settings: AdminSettings,
        commands: AdminCommands,
        texts: Callable[[], Texts],
    ) -> None:
        self._session = session
        self._settings = settings
        self._commands = commands
        self._texts = texts
        session.listeners.append(self.on_sync)

    @property
    def room_id(self) -> str:
        return self._settings.room_id

    async def on_sync(self, response: SyncResponse, catching_up: bool) -> None:
        client = self._session.client
        assert client is not None
        invite = response.rooms.invite.get(self.room_id)
        if invite is not None:
            await self._accept_invite(client, invite.invite_state)
        joined = response.rooms.join.get(self.room_id)
        if joined is None or catching_up:
            return  # commands from before the bot's first sync are not carried out
        for event in joined.timeline.events:
            if event.sender == self._session.settings.user_id or not isinstance(
                event, RoomMessageText
            ):
                continue
            if event.sender not in self._settings.users:
                log.warning("admin room: refused a command from someone who is not an admin")
                await self._say(client, self._texts()("admin.not_allowed"))
                continue
            problem = await sender_problem(self._session, self.room_id, event)
            if problem is not None:
                log.warning("admin room: a command was not carried out (%s)", problem)
                await self._say(client, self._texts()("trust.admin_unverified"))
                continue
            command = event.body.strip().partition(" ")[0].lstrip("!").casefold()[:20]
            log.info("admin room: %s command from an admin", command or "empty")
            attachment = None
            try:
                if command == "report":
                    answer, attachment = await self._commands.report(event.body)
                else:
                    answer = await self._commands.answer(event.sender, event.body)
            except Exception as exc:  # noqa: BLE001 - the admin hears of it; the sync goes on
                log.error("admin room: %s command failed: %s", command, describe_failure(exc))
                answer = self._texts()("admin.failed", problem=type(exc).__name__)
            await self._say(client, answer)
            if attachment is not None:
                await self._send_file(client, attachment, f"report-{event.body.split()[1]}.html")

    async def _accept_invite(self, client: AsyncClient, invite_state: list[object]) -> None:
        inviters = {
            event.sender
            for event in invite_state
            if isinstance(event, InviteMemberEvent)
            and event.state_key == self._session.settings.user_id
            and event.membership == "invite"
        }
        if inviters & set(self._settings.users):
            await client.join(self.room_id)
            log.info("admin room: joined")
        else:
            log.warning("admin room: invite from someone who is not an admin ignored")

    async def report_refused_files(self, problems: list[Problem]) -> None:
        """The locale files on disk were edited into something invalid: say so here."""
        client = self._session.client
        if client is None or not self._session.ready:
            return  # logged already; the room hears of the next one
        lines = [self._texts()("admin.files_refused"), *(f"- {p}" for p in problems)]
        await self._say(client, "\n".join(lines))

    async def _send_file(self, client: AsyncClient, text: str, name: str) -> None:
        """An HTML file, encrypted before it is uploaded; the event itself is encrypted
        like every message in the room."""
        data = text.encode()
        try:
            uploaded, keys = await client.upload(
                io.BytesIO(data), "text/html", name, encrypt=True, filesize=len(data)
            )
        except NETWORK_ERRORS as exc:
            log.error("admin room: file not uploaded (%s)", type(exc).__name__)
            return
        if not isinstance(uploaded, UploadResponse) or keys is None:
            log.error("admin room: file refused (%s)", getattr(uploaded, "status_code", "?"))
            return
        content = {
            "msgtype": "m.file",
            "body": name,
            "filename": name,
            "info": {"mimetype": "text/html", "size": len(data)},
            "file": {**keys, "url": uploaded.content_uri, "mimetype": "text/html"},
        }
        await self._send(client, content)

    async def _say(self, client: AsyncClient, text: str) -> None:
        await self._send(client, notice(text))

    async def _send(self, client: AsyncClient, content: Mapping[str, object]) -> None:
        try:
            response = await client.room_send(
                self.room_id, "m.room.message", content, ignore_unverified_devices=True
            )
        except NETWORK_ERRORS as exc:
            log.error("admin room: answer not sent (%s)", type(exc).__name__)
            return
        if not isinstance(response, RoomSendResponse):
            log.error("admin room: answer refused (%s)", getattr(response, "status_code", "?"))
