"""Matrix failures, importable without loading matrix-nio (the CLI catches them)."""

from __future__ import annotations

from typing import Any


class HomeserverUnreachable(Exception):
    """No answer from the homeserver (down, refused, timed out)."""


class MatrixHttpError(Exception):
    def __init__(self, status: int, errcode: str | None, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status} {errcode or ''}".strip())
        self.status = status
        self.errcode = errcode
        self.body = body


class EncryptionUnavailable(Exception):
    """matrix-nio was installed without end-to-end encryption support."""


class LoginFailed(Exception):
    """The homeserver refused the bot's credentials."""


class CrossSigningError(Exception):
    """The homeserver did not accept the identity or the device signature."""
