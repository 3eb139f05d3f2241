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

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def proxy_networks(self) -> tuple[Network, ...]:
        return networks(self.trusted_proxies)
