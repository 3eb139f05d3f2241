"""Drawing the pages: Jinja templates (autoescaped) in this package, every word from the
locale files, the organisation's look from the config."""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup, escape

from bot.config import LOGO_TYPES, Config, WebSettings
from bot.flows.summary import emergency_text, referrals_text
from bot.texts.catalog import Catalog, Texts
from bot.util.shipped import shipped

HERE = shipped("adapters", "web")
STATIC = HERE / "static"


def paragraphs(text: str) -> Markup:
    """Plain text as paragraphs: blank lines part them, single newlines break lines.
    Each part is escaped before it is joined with the markup (one Markup at the end:
    joining Markup objects escapes and copies at every step, on every page)."""
    parts = [p.strip("\n") for p in str(text).split("\n\n") if p.strip()]
    return Markup(
        "".join("<p>" + str(escape(part)).replace("\n", "<br>") + "</p>" for part in parts)
    )


def _channel(value: float) -> float:
    value /= 255
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def theme_css(settings: WebSettings) -> str:
    """The accent colour, with whichever text colour reads best on it (AA or better when
    the colour allows), and a darker accent for links on white."""
    accent = settings.accent_colour
    on_accent = (
        "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, "#111111") else "#111111"
    )
    link = accent if contrast(accent, "#ffffff") >= 4.5 else "#1a4d72"
    return f":root {{ --accent: {accent}; --on-accent: {on_accent}; --link: {link}; }}\n"


def logo_type(settings: WebSettings) -> str | None:
    if settings.logo_file is None:
        return None
    return LOGO_TYPES[settings.logo_file.suffix.lower()]


class Pages:
    def __init__(self, config: Config, settings: WebSettings, root: str = "/") -> None:
        self._config = config
        self._root = root
        self._settings = settings
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,  # the templates ship with the package: no stat per page
        )
        self._env.filters["paragraphs"] = paragraphs
        # Compiled once: the environment's own lookup costs a tenth of a page's drawing.
        self._templates: dict[str, jinja2.Template] = {}

    def _help_routes(self, t: Texts) -> str:
        """The routes for right now, then the advice desks, as "I need help now" has them."""
        desks = referrals_text(t, self._config) if self._config.referral_resources else ""
        return "\n\n".join(part for part in (emergency_text(t, self._config), desks) if part)

    def render(
        self, template: str, t: Texts, languages: list[tuple[str, str]], **values: Any
    ) -> str:
        compiled = self._templates.get(template)
        if compiled is None:
            compiled = self._templates[template] = self._env.get_template(template)
        return compiled.render(
            t=t,
            root=self._root,
            lang=t.lang,
            languages=languages,
            organisation=self._config.organisation.name,
            has_logo=self._settings.logo_file is not None,
            exit_url=self._settings.exit_url,
            emergency=self._help_routes(t) if template == "help.html" else "",
            draft_hours=f"{self._config.retention.draft_hours:g}",
            closed_days=f"{self._config.retention.closed_case_days:g}",
            **values,
        )


def accepted_language(header: str, catalog: Catalog) -> str | None:
    """The first language of the browser's Accept-Language that the texts have."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary and quality > 0:
            ranked.append((-quality, index, primary))
    return next((lang for _, _, lang in sorted(ranked) if catalog.supports(lang)), None)
