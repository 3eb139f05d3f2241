"""Receipt codes, the one session cookie and the forms' CSRF tokens.

The receipt code is the person's id on the web channel, as a chat id is on
Telegram: the engine stores only its keyed hash. The session cookie carries the code
sealed with a key of its own (derived from the key file), so the server keeps no
session table and a restart loses no one; the browser never holds the code in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.flows.answers import CASE_REF_ALPHABET
from bot.keys.crypto import KeyMaterial

# 20 characters of a 25-letter alphabet: log2(25) * 20 = 92.9 random bits.
CODE_LENGTH = 20
CODE_GROUP = 4
_NONCE = 12
COOKIE = "vw"


def new_receipt_code() -> str:
    """A fresh receipt code, in groups of four: ACDE-FGHJ-KMNP-QRTU-VWXY."""
    chars = "".join(secrets.choice(CASE_REF_ALPHABET) for _ in range(CODE_LENGTH))
    return group_code(chars)


def group_code(chars: str) -> str:
    return "-".join(chars[i : i + CODE_GROUP] for i in range(0, len(chars), CODE_GROUP))


def normalise_code(typed: str) -> str | None:
    """The code as stored, from what a person typed (any case, spaces, dashes), or None
    when it cannot be a code."""
    chars = "".join(ch for ch in typed.upper() if ch.isalnum())
    if len(chars) != CODE_LENGTH or any(ch not in CASE_REF_ALPHABET for ch in chars):
        return None
    return group_code(chars)


@dataclass(frozen=True)
class Session:
    """What the cookie holds. Every visitor has one from the first page on: ``sid`` is
    drawn then (the forms' CSRF token is bound to it), and drawn again when a
    conversation is opened in this browser or left."""

    code: str | None = None  # the receipt code; None before a conversation starts
    lang: str | None = None  # the language picked on the page (None: the browser's)
    ended: str | None = None  # a notice to show once (after an erasure)
    sid: str = ""
    issued: float = 0.0  # when this browser was given the code (a start or a return)
    seen: float = 0.0  # the last request with the code, to the minute or so
    idle: bool = False  # the code was let go for lack of use: say so, once


def new_sid() -> str:
    return secrets.token_hex(16)


def _derive(material: KeyMaterial, purpose: bytes) -> bytes:
    return hmac.digest(material.lookup_key, b"vertrouwd-web\x00" + purpose, hashlib.sha256)


class SessionKeys:
    def __init__(self, material: KeyMaterial) -> None:
        self._aead = AESGCM(_derive(material, b"cookie"))
        self._csrf = _derive(material, b"csrf")

    def seal(self, session: Session) -> str:
        data = json.dumps(
            [
                session.code,
                session.lang,
                session.ended,
                session.sid,
                session.issued,
                session.seen,
                session.idle,
            ]
        ).encode()
        nonce = secrets.token_bytes(_NONCE)
        blob = nonce + self._aead.encrypt(nonce, data, COOKIE.encode())
        return base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open(self, value: str | None) -> Session | None:
        if not value or len(value) > 1024:
            return None
        try:
            blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], COOKIE.encode())
            code, lang, ended, sid, issued, seen, idle = json.loads(data)
            session = Session(code, lang, ended, str(sid), float(issued), float(seen), bool(idle))
        except (InvalidTag, ValueError, binascii.Error, TypeError):
            return None  # a cookie of an earlier version too: the visitor starts afresh
        return session if session.sid else None

    def csrf_token(self, sid: str) -> str:
        """The forms' token: bound to this browser's cookie (double submit). Another
        site can neither read the token nor set the cookie it belongs to."""
        return self._mac(b"t\x00" + sid.encode())

    def csrf_valid(self, token: str, sid: str) -> bool:
        return bool(sid) and hmac.compare_digest(token, self.csrf_token(sid))

    def _mac(self, message: bytes) -> str:
        return hmac.new(self._csrf, message, hashlib.sha256).hexdigest()[:32]
