"""Matrix: the bot's account ``[matrix]``, direct chats with employees ``[matrix_dm]``
and the admin room ``[admin]``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from msgspec import Meta

from bot.config.base import MatrixUserId, MaybeHttpUrl, MaybeMatrixUserId, Section
from bot.config.secrets import MATRIX_PASSWORD_ENV, read_secret


class MatrixSettings(Section, frozen=True):
    # Needed with the Matrix handoff, Matrix direct chats or an admin room: checked then.
    homeserver: MaybeHttpUrl = ""
    user_id: MaybeMatrixUserId = ""
    password_file: Path | None = None
    device_name: str = "vertrouwd"
    request_timeout_seconds: Annotated[float, Meta(gt=0)] = 15.0
    poll_seconds: Annotated[int, Meta(gt=0)] = 10

    def password(self, environ: Mapping[str, str] | None = None) -> str:
        """The bot account's password, from the environment or the password file."""
        return read_secret(MATRIX_PASSWORD_ENV, self.password_file, "matrix.password_file", environ)


ServerName = Annotated[
    str,
    Meta(
        pattern=r"^[^/@\s]+$",
        description="a server name like example.org, not a URL or user id",
    ),
]


class MatrixDmSettings(Section, frozen=True):
    enabled: bool = False
    # Server names whose users may talk to the bot; the bot's own when none are set.
    allowed_homeservers: tuple[ServerName, ...] = ()


RoomId = Annotated[str, Meta(pattern=r"^(!\S+)?$", description="a room id like !abc:example.org")]


class AdminSettings(Section, frozen=True):
    users: tuple[MatrixUserId, ...] = ()
    # "" (the default): no admin room.
    room_id: RoomId = ""
