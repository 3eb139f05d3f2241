"""`vertrouwd poster`: a printable A4 SVG for the organisation's walls, with the web
chat's address and its QR code, in one language or two side by side."""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

import segno

from bot.config import Config, ConfigError
from bot.config.model import OrganisationConfig
from bot.texts.catalog import Catalog

# A4 in millimetres; the SVG's user unit is one millimetre.
WIDTH, HEIGHT = 210.0, 297.0
MARGIN = 18.0
QR_SIZE = 90.0
_CHAR_WIDTH = 0.52  # of the font size: a fair average for sans-serif text


def wrap(text: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` that fit ``width`` mm at font ``size`` mm (an estimate)."""
    per_line = max(8, int(width / (size * _CHAR_WIDTH)))
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if len(candidate) > per_line and line:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def _text(x: float, y: float, size: float, lines: list[str], weight: str = "normal") -> str:
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else size * 1.3:.2f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}"'
        f' font-family="sans-serif" fill="#1a1a1a">{spans}</text>'
    )


def _qr(url: str, x: float, y: float, size: float) -> str:
    code = segno.make(url, error="m")
    modules = code.symbol_size(scale=1, border=0)[0]
    inner = code.svg_inline(scale=1, border=0, omitsize=True)
    inner = re.sub(r"^<svg", f'<svg x="{x}" y="{y}" width="{size}" height="{size}"', inner)
    if "viewBox" not in inner:
        inner = inner.replace("<svg", f'<svg viewBox="0 0 {modules} {modules}"', 1)
    return inner


def poster_svg(
    config: Config, catalog: Catalog, languages: list[str], bureau_bot: str | None = None
) -> str:
    """``bureau_bot``: the bureau's name ("" unnamed), when people of this organisation
    reach it through the bureau's Telegram bot by its code."""
    web = config.web
    if web is None or not web.public_url:
        raise ConfigError(
            "web.public_url: the poster needs the web chat's address (and [web] enabled)"
        )
    url = web.public_url
    column_width = (WIDTH - 2 * MARGIN - (len(languages) - 1) * 8) / len(languages)
    parts = [
        f'<rect x="0" y="0" width="{WIDTH}" height="14" fill="{web.accent_colour}"/>',
        _text(MARGIN, 34, 11, wrap(config.organisation.name, 11, WIDTH - 2 * MARGIN), "bold"),
    ]
    bottom = 0.0
    for index, lang in enumerate(languages):
        t = catalog.texts(lang)
        x = MARGIN + index * (column_width + 8)
        longest = max(len(word) for word in t("web.poster_title").split())
        size = min(9.0, column_width / (longest * 0.62))
        title = wrap(t("web.poster_title"), size, column_width)
        what = wrap(t("web.poster_what"), 5.2, column_width)
        how = wrap(t("web.poster_how"), 5.2, column_width)
        y = 56.0
        parts.append(_text(x, y, size, title, "bold"))
        y += len(title) * size * 1.3 + 4
        parts.append(_text(x, y, 5.2, what))
        y += len(what) * 5.2 * 1.3 + 3
        parts.append(_text(x, y, 5.2, how, "bold"))
        y += len(how) * 5.2 * 1.3 + 3
        # Not everyone wants a bot: the advisers' own ways in, and 112 for right now.
        ways = [
            t("web.poster_call", name=a.name, ways=", ".join(w for w in (a.phone, a.email) if w))
            for a in config.advisers
            if a.phone or a.email
        ]
        if bureau_bot is not None and isinstance(config, OrganisationConfig):
            code = config.organisation_code
            bureau = bureau_bot or t("bureau.chooser.unnamed")
            ways.append(t("bureau.chooser.poster_telegram", code=code, bureau=bureau))
        other = wrap("\n".join([*ways, t("web.poster_help")]), 5.2, column_width)
        parts.append(_text(x, y, 5.2, other))
        bottom = max(bottom, y + len(other) * 5.2 * 1.3)
    qr_y = max(bottom + 6, 150.0)
    qr_y = min(qr_y, HEIGHT - MARGIN - QR_SIZE - 14)
    parts.append(_qr(url, (WIDTH - QR_SIZE) / 2, qr_y, QR_SIZE))
    parts.append(
        f'<text x="{WIDTH / 2}" y="{qr_y + QR_SIZE + 10:.1f}" font-size="7" font-weight="bold"'
        f' font-family="sans-serif" text-anchor="middle" fill="#1a1a1a">{escape(url)}</text>'
    )
    body = "\n".join(parts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:g}mm" height="{HEIGHT:g}mm"'
        f' viewBox="0 0 {WIDTH:g} {HEIGHT:g}">\n'
        f'<rect width="{WIDTH:g}" height="{HEIGHT:g}" fill="#ffffff"/>\n{body}\n</svg>\n'
    )


def write_poster(
    config: Config,
    catalog: Catalog,
    languages: list[str],
    out: Path,
    bureau_bot: str | None = None,
) -> None:
    unknown = [lang for lang in languages if not catalog.supports(lang)]
    if unknown or not 1 <= len(languages) <= 2:
        raise ConfigError(
            f"poster: one or two languages of {', '.join(catalog.languages())}, e.g. nl or nl,en"
        )
    out.write_text(poster_svg(config, catalog, languages, bureau_bot), encoding="utf-8")
