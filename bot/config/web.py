"""The web chat ``[web]``: where it listens, how it looks, whom it trusts."""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import Annotated

from msgspec import Meta

from bot.config.base import HttpUrl, MaybeHttpUrl, Section

LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Colour = Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{6}$", description="a colour like #1f5f8b")]


@functools.cache
def networks(addresses: tuple[str, ...]) -> tuple[Network, ...]:
    """The proxies as networks (each checked when the config loads)."""
    return tuple(ipaddress.ip_network(address, strict=False) for address in addresses)


class WebSettings(Section, frozen=True):
    enabled: bool = False
    listen: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535, description="a port number (0 to 65535)")] = 8080
    # The address people use (behind the organisation's reverse proxy): on posters, and
    # https there means Secure cookies and HSTS.
    public_url: MaybeHttpUrl = ""
    # Proxies whose X-Forwarded-For/-Proto are believed; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # Where the quick-exit button goes: a neutral site.
    exit_url: HttpUrl = "https://www.google.com/"
    logo_file: Path | None = None
    accent_colour: Colour = "#1f5f8b"
    # A browser that sends no request for this long lets go of the conversation: the
    # receipt code is needed again (a shared computer left open).
    idle_minutes: Annotated[float, Meta(gt=0, le=24 * 60)] = 30.0
    # New conversations per minute from all visitors together (twice as many at once).
    starts_per_minute: Annotated[int, Meta(ge=1, le=100_000)] = 60
    # A conversation started in the web chat that was never answered is deleted after
    # this long (not after retention.draft_hours): nobody can come back to it anyway.
    unanswered_start_minutes: Annotated[float, Meta(gt=0, le=24 * 60)] = 30.0
    # Open connections at most, and open live pages (event streams) at most: both
    # below the process's open-file limit, so the other channels keep working.
    max_connections: Annotated[int, Meta(ge=10, le=1_000_000)] = 1000
    max_event_streams: Annotated[int, Meta(ge=1, le=1_000_000)] = 500
    # A request's headers, and a form's body, must arrive within this many seconds.
    request_seconds: Annotated[float, Meta(gt=0, le=600)] = 15.0

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def idle_seconds(self) -> float:
        return self.idle_minutes * 60

    @property
    def proxy_networks(self) -> tuple[Network, ...]:
        return networks(self.trusted_proxies)
