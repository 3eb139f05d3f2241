"""What every response carries, who a client is, and whether a form comes from our own
pages."""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

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
    # Our own pages tell our server where a form came from (the Origin of a POST is
    # "null" under no-referrer); no other site is ever told anything.
    "Referrer-Policy": "same-origin",
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
    if from_trusted_proxy(request, settings):
        return request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    return request.scheme == "https"


def from_trusted_proxy(request: web.Request, settings: WebSettings) -> bool:
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
    if from_trusted_proxy(request, settings):
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


def network_of(address: str) -> str:
    """What a visitor is counted by in the limits: an IPv4 address, or the /64 of an
    IPv6 address (one household or one phone is given a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def foreign_post(
    request: web.Request, settings: WebSettings, also: tuple[str, ...] = ()
) -> str | None:
    """Why a POST is refused as not coming from our own pages; None when it does.

    - ``Sec-Fetch-Site`` (every current browser sends it, and no page can forge it)
      must say ``same-origin`` (or ``none``: the person themselves, e.g. a reload).
    - ``Origin``, when a browser sends a real one, must be this site. Our pages set
      ``Referrer-Policy: same-origin``, so a browser sends the true Origin and Referer
      to us (under ``no-referrer`` a POST's Origin is "null").
    - Otherwise the ``Referer`` must be this site.
    - A POST with none of the three is refused too. Only an old browser without Fetch
      Metadata that also leaves out Origin and Referer would send such a thing, and
      that is exactly the browser a login-CSRF attack needs: what a cross-site form in
      it sends cannot be told apart from ours. Current browsers, and every browser that
      sends Origin on a POST (all of them since 2020), are not affected.

    This site is the Host the browser asked for, or the host of ``web.public_url``
    (for a proxy that passes on another Host), or one of ``also`` (a bureau's address
    and the organisation's own host name)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return "cross-site"
    ours = {request.host.lower(), *(host.lower() for host in also if host)}
    if settings.public_url:
        ours.add(urlsplit(settings.public_url).netloc.lower())
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return None if urlsplit(origin).netloc.lower() in ours else "foreign-origin"
    referer = request.headers.get("Referer")
    if referer:
        return None if urlsplit(referer).netloc.lower() in ours else "foreign-referer"
    return None if fetch_site is not None else "no-origin"
