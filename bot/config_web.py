"""The web chat's settings (``[web]``): where it listens, how it looks, whom it trusts."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import ConfigError, _get

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}


@dataclass(frozen=True)
class WebSettings:
    listen: str
    port: int
    # The address people use (behind the organisation's reverse proxy): on posters, and
    # https there means Secure cookies and HSTS.
    public_url: str
    # Proxies whose X-Forwarded-For/-Proto are believed; none by default.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    # Where the quick-exit button goes: a neutral site.
    exit_url: str
    logo_file: Path | None
    accent_colour: str

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")


def web_settings(raw: dict[str, Any], base_dir: Path) -> WebSettings | None:
    if not _get(raw, "web", "enabled", bool):
        return None
    port = _get(raw, "web", "port", int)
    if not 0 <= port < 65536:
        raise ConfigError(f"web.port: must be a port number, got {port}")
    public_url = _get(raw, "web", "public_url", str).rstrip("/")
    if public_url and not public_url.startswith(("https://", "http://")):
        raise ConfigError("web.public_url: must be an http(s) URL, e.g. https://praat.example.nl")
    exit_url = _get(raw, "web", "exit_url", str)
    if not exit_url.startswith(("https://", "http://")):
        raise ConfigError("web.exit_url: must be an http(s) URL of a neutral site")
    proxies = raw["web"]["trusted_proxies"]
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        raise ConfigError("web.trusted_proxies: must be a list of addresses, e.g. ['127.0.0.1']")
    try:
        networks = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)
    except ValueError as exc:
        raise ConfigError(f"web.trusted_proxies: {exc}") from exc
    colour = _get(raw, "web", "accent_colour", str)
    if not _COLOUR.match(colour):
        raise ConfigError(f"web.accent_colour: must be a colour like #1f5f8b, got {colour!r}")
    logo_value = _get(raw, "web", "logo_file", str)
    logo = None
    if logo_value:
        logo = Path(logo_value).expanduser()
        logo = logo if logo.is_absolute() else base_dir / logo
        if logo.suffix.lower() not in LOGO_TYPES:
            raise ConfigError("web.logo_file: must be a .png, .jpg or .svg file")
        if not logo.is_file():
            raise ConfigError(f"web.logo_file: {logo} does not exist")
    return WebSettings(
        listen=_get(raw, "web", "listen", str),
        port=port,
        public_url=public_url,
        trusted_proxies=networks,
        exit_url=exit_url,
        logo_file=logo,
        accent_colour=colour.lower(),
    )


def default_web_settings() -> WebSettings:
    """The web chat as the built-in defaults have it, switched on (for the demo)."""
    from bot.config import _defaults

    raw = _defaults()
    raw["web"]["enabled"] = True
    settings = web_settings(raw, Path.cwd())
    assert settings is not None
    return settings
