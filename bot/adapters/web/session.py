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
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.flows.answers import CASE_REF_ALPHABET
from bot.keys.crypto import KeyMaterial

# 20 characters of a 25-letter alphabet: log2(25) * 20 = 92.9 random bits.
CODE_LENGTH = 20
CODE_GROUP = 4
_NONCE = 12
_ANON_TOKEN_SECONDS = 3 * 3600
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
    """What the cookie holds: the receipt code (None before a conversation starts) and
    the language the person picked on the page (None: the browser's)."""

    code: str | None = None
    lang: str | None = None
    # A notice to show once (after an erasure, when no conversation is left).
    ended: str | None = None


def _derive(material: KeyMaterial, purpose: bytes) -> bytes:
    return hmac.digest(material.lookup_key, b"vertrouwd-web\x00" + purpose, hashlib.sha256)


class SessionKeys:
    def __init__(self, material: KeyMaterial) -> None:
        self._aead = AESGCM(_derive(material, b"cookie"))
        self._csrf = _derive(material, b"csrf")

    def seal(self, session: Session) -> str:
        data = json.dumps([session.code, session.lang, session.ended]).encode()
        nonce = secrets.token_bytes(_NONCE)
        blob = nonce + self._aead.encrypt(nonce, data, COOKIE.encode())
        return base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open(self, value: str | None) -> Session | None:
        if not value or len(value) > 1024:
            return None
        try:
            blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], COOKIE.encode())
            code, lang, ended = json.loads(data)
        except (InvalidTag, ValueError, binascii.Error, TypeError):
            return None
        return Session(code, lang, ended)

    def csrf_token(self, cookie: str | None, now: float | None = None) -> str:
        """Bound to the session's cookie, or (before there is one) to a time window."""
        if cookie:
            return self._mac(b"s\x00" + cookie.encode())
        window = int((now if now is not None else time.time()) // _ANON_TOKEN_SECONDS)
        return self._mac(b"a\x00" + str(window).encode())

    def csrf_valid(
        self, token: str, cookie: str | None, anonymous_ok: bool, now: float | None = None
    ) -> bool:
        """A chat form needs the session's token; a form that can be shown before the
        session began (start, return, language) may carry the time window's."""
        now = now if now is not None else time.time()
        candidates = [self.csrf_token(cookie, now)] if cookie else []
        if anonymous_ok:
            candidates += [
                self.csrf_token(None, now),
                self.csrf_token(None, now - _ANON_TOKEN_SECONDS),
            ]
        return any(hmac.compare_digest(token, c) for c in candidates)

    def _mac(self, message: bytes) -> str:
        return hmac.new(self._csrf, message, hashlib.sha256).hexdigest()[:32]
