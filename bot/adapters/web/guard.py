"""What every response carries, who a client is (as a hash), and the slow-down for codes."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass

from aiohttp import web

from bot.config import WebSettings

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
# Every powerful feature a page could ask for, switched off.
_DENIED = (
    "accelerometer",
    "ambient-light-sensor",
    "autoplay",
    "battery",
    "bluetooth",
    "camera",
    "display-capture",
    "document-domain",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "sync-xhr",
    "usb",
    "web-share",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in _DENIED)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Nothing of a conversation may stay in the browser's cache or history.
    "Cache-Control": "no-store",
}
HSTS = "max-age=31536000"
log = logging.getLogger(__name__)


def add_security_headers(response: web.StreamResponse, https: bool) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if https:
        response.headers["Strict-Transport-Security"] = HSTS


def served_over_https(request: web.Request, settings: WebSettings) -> bool:
    if settings.https:
        return True
    if _from_trusted_proxy(request, settings):
        return request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    return request.scheme == "https"


def _from_trusted_proxy(request: web.Request, settings: WebSettings) -> bool:
    peer = request.remote
    if not peer or not settings.trusted_proxies:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in settings.proxy_networks)


_untrusted_proxy_noted = False


def client_address(request: web.Request, settings: WebSettings) -> str:
    """The visitor's address (the proxy's word for it when the proxy is trusted). Only
    ever hashed, in memory: it is never logged or stored."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if _from_trusted_proxy(request, settings):
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    elif forwarded:
        global _untrusted_proxy_noted
        if not _untrusted_proxy_noted:
            _untrusted_proxy_noted = True
            log.warning(
                "web: requests come through a proxy not in web.trusted_proxies; every"
                " visitor shares its address for the slow-downs (add the proxy there)"
            )
    return request.remote or ""


@dataclass
class _Tries:
    failures: int
    blocked_until: float
    last: float


class CodeThrottle:
    """Wrong receipt codes per client: a few free tries, then a wait that doubles with
    every further wrong code. In memory only, keyed by a salted hash of the address."""

    FREE_TRIES = 3
    MAX_WAIT_SECONDS = 900.0
    _FORGET_AFTER = 24 * 3600.0
    _PRUNE_ABOVE = 10_000

    def __init__(self) -> None:
        self._salt = secrets.token_bytes(32)  # a new one each start: no address is kept
        self._tries: dict[bytes, _Tries] = {}

    def client(self, address: str) -> bytes:
        return hmac.digest(self._salt, address.encode(), hashlib.sha256)

    def wait(self, client: bytes, now: float) -> float:
        """Seconds before this client may try a code again (0: now)."""
        tries = self._tries.get(client)
        return max(0.0, tries.blocked_until - now) if tries else 0.0

    def failed(self, client: bytes, now: float) -> None:
        if len(self._tries) > self._PRUNE_ABOVE:
            self._tries = {
                k: v for k, v in self._tries.items() if now - v.last < self._FORGET_AFTER
            }
        tries = self._tries.setdefault(client, _Tries(0, 0.0, now))
        tries.failures += 1
        tries.last = now
        over = tries.failures - self.FREE_TRIES
        if over >= 0:
            tries.blocked_until = now + min(2.0**over, self.MAX_WAIT_SECONDS)

    def succeeded(self, client: bytes) -> None:
        self._tries.pop(client, None)
