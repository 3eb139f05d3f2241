"""The texts the bot says: loaded from ``locales/<lang>.toml``, validated, looked up by key.

Code refers to keys only. A language missing a key falls back to the default
language for that key, so a half-translated new locale still works.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.flows.danger.detector import DangerDetector
from bot.flows.danger.patterns import PatternError
from bot.texts.plural import PluralFormatter, plural_problems

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

MESSAGE_MAX_CHARS = 4096  # Telegram's limit for one message
LANGUAGE_NAME_KEY = "meta.language_name"
# Not a message but the danger detector's patterns (bot/flows/danger/): no length
# limit, no placeholders; checked by compiling them.
DANGER_PATTERNS_KEY = "safety.patterns"


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.key}: {self.message}"
            if self.key
            else f"{self.file}: {self.message}"
        )


class TextsInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _flatten(table: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, f"{full}.", out)
        else:
            out[full] = value


def placeholders(text: str) -> frozenset[str]:
    """The named fields of a format string; raises ValueError on broken braces."""
    names = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(text):
        if field is not None:
            if not field.isidentifier():
                raise ValueError(f"placeholder {{{field}}} is not a plain name")
            names.add(field)
    return frozenset(names)


def _read_locale(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """A locale file's texts and problems. The same content is read once per process
    (a bureau's organisations share the locale files): treat the result as read-only."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        return {}, [Problem(path.name, "", f"cannot be read: {exc}")]
    texts, problems = _parse_locale(str(path), path.stem, content)
    return texts, list(problems)


@functools.lru_cache(maxsize=32)
def _parse_locale(
    file: str, lang: str, content: bytes
) -> tuple[dict[str, str], tuple[Problem, ...]]:
    # The path (not only the name): a problem in a pattern points to its line in the file.
    texts, problems = _parse_locale_text(Path(file), lang, content)
    return texts, tuple(problems)


def _parse_locale_text(
    path: Path, lang: str, content: bytes
) -> tuple[dict[str, str], list[Problem]]:
    problems: list[Problem] = []
    try:
        document = tomllib.loads(content.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return {}, [Problem(path.name, "", f"not valid TOML: {exc}")]
    except UnicodeDecodeError as exc:
        return {}, [Problem(path.name, "", f"cannot be read: {exc}")]
    flat: dict[str, Any] = {}
    _flatten(document, "", flat)
    texts: dict[str, str] = {}
    for key, value in flat.items():
        if not isinstance(value, str):
            problems.append(Problem(path.name, key, "must be text"))
        elif not value.strip():
            problems.append(Problem(path.name, key, "is empty"))
        elif key == DANGER_PATTERNS_KEY:
            problem = _pattern_problem(path, key, value)
            if problem is None:
                texts[key] = value
            else:
                problems.append(problem)
        elif len(value) > MESSAGE_MAX_CHARS:
            problems.append(
                Problem(
                    path.name, key, f"is {len(value)} characters; the limit is {MESSAGE_MAX_CHARS}"
                )
            )
        else:
            try:
                placeholders(value)
            except ValueError as exc:
                problems.append(Problem(path.name, key, f"has a broken placeholder ({exc})"))
                continue
            wrong = plural_problems(value, lang)
            if wrong:
                problems += [Problem(path.name, key, f"plural: {w}") for w in wrong]
                continue
            texts[key] = value
    return texts, problems


def _pattern_problem(path: Path, key: str, source: str) -> Problem | None:
    try:
        DangerDetector.from_sources({path.stem: source})
    except PatternError as exc:
        where = f"pattern line {exc.line}"
        line = _file_line(path, key, exc.line)
        if line is not None:
            where += f" (line {line} of the file)"
        return Problem(path.name, key, f"{where}: {exc.detail}")
    return None


def _file_line(path: Path, key: str, line: int) -> int | None:
    """Where line ``line`` of the multi-line text ``key`` stands in the file, when the
    file spells it plainly (a best effort: only to point an editor to it)."""
    section, name = key.rsplit(".", 1)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    current = ""
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[]").strip()
        elif current == section and stripped.split("=", 1)[0].strip() == name:
            value = stripped.split("=", 1)[1].strip()
            for quotes in ('"""', "'''"):
                if value.startswith(quotes):
                    # TOML drops a newline right after the opening quotes.
                    first = number + 1 if value == quotes else number
                    return first + line - 1
            return None
    return None


def _overridden(
    locales: dict[str, dict[str, str]],
    raw_keys: dict[str, set[str]],
    overrides_dir: Path,
    origin: dict[tuple[str, str], str],
) -> list[Problem]:
    """Lay the edited texts over the locale files: a file there holds only the texts it
    changes, each one a text of the locale file of its language. A problem in one is
    named by its path (its name alone would be the locale file's); ``origin`` gets the
    file each overridden text comes from."""
    problems: list[Problem] = []
    for path in sorted(overrides_dir.glob("*.toml")):
        texts, found = _read_locale(path)
        problems += [dataclasses.replace(problem, file=str(path)) for problem in found]
        own = locales.get(path.stem)
        if own is None:
            problems.append(Problem(str(path), "", "has no locale file of its language"))
            continue
        unknown = sorted(set(texts) - raw_keys[path.stem])
        problems += [
            Problem(str(path), key, "is not a text of the locale files") for key in unknown
        ]
        kept = {k: v for k, v in texts.items() if k not in unknown}
        locales[path.stem] = {**own, **kept}
        origin.update({(path.stem, key): str(path) for key in kept})
    return problems


def check_locales(
    locales_dir: Path, default_language: str | None = None, overrides_dir: Path | None = None
) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Read every locale and compare them: same placeholders everywhere, and each key in
    each file. With ``default_language`` given, only that one must have every key: the
    others may still miss some (see ``missing_texts``), which then fall back to it.
    ``overrides_dir`` holds edited texts laid over the locale files."""
    files = sorted(locales_dir.glob("*.toml"))
    if not files:
        return {}, [Problem(str(locales_dir), "", "no locale files (*.toml) found")]
    locales: dict[str, dict[str, str]] = {}
    raw_keys: dict[str, set[str]] = {}
    problems: list[Problem] = []
    for path in files:
        texts, found = _read_locale(path)
        problems.extend(found)
        locales[path.stem] = texts
        raw_keys[path.stem] = set(texts) | {p.key for p in found if p.key}
    origin: dict[tuple[str, str], str] = {}
    if overrides_dir is not None:
        problems += _overridden(locales, raw_keys, overrides_dir, origin)
    all_keys = set().union(*raw_keys.values())
    strict = default_language is None or default_language not in raw_keys
    for lang, keys in raw_keys.items():
        if strict or lang == default_language:
            for key in sorted(all_keys - keys):
                problems.append(Problem(f"{lang}.toml", key, "is missing"))
    for key in sorted(all_keys - {DANGER_PATTERNS_KEY}):
        shapes = {lang: placeholders(texts[key]) for lang, texts in locales.items() if key in texts}
        if len(set(shapes.values())) > 1:
            detail = ", ".join(
                f"{lang}.toml has {{{'}, {'.join(sorted(names))}}}"
                if names
                else f"{lang}.toml has none"
                for lang, names in sorted(shapes.items())
            )
            for lang in sorted(shapes):
                where = origin.get((lang, key), f"{lang}.toml")
                problems.append(Problem(where, key, f"placeholders differ: {detail}"))
    return locales, problems


def missing_texts(locales: Mapping[str, Mapping[str, str]], default_language: str) -> list[Problem]:
    """The texts a language does not have yet: the default language's are used."""
    reference = set(locales.get(default_language, {}))
    return [
        Problem(f"{lang}.toml", key, f"still missing; the {default_language} text is used")
        for lang, texts in sorted(locales.items())
        for key in sorted(reference - set(texts))
    ]


class _KeepMissing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Texts:
    """The texts of one language, with the default language as fallback per key."""

    def __init__(
        self,
        lang: str,
        own: Mapping[str, str],
        fallback: Mapping[str, str],
        fallback_lang: str = "",
    ) -> None:
        self.lang = lang
        self._own = own
        self._fallback = fallback
        self._formatter = PluralFormatter(lang)
        self._fallback_formatter = PluralFormatter(fallback_lang or lang)

    def __call__(self, key: str, **params: Any) -> str:
        own = self._own.get(key)
        template = own or self._fallback.get(key)
        if template is None:
            log.error("text key missing in every locale: %s", key)
            return key
        if not params and "{" not in template:
            return template
        # A fallback text's plural forms follow its own language's rules.
        formatter = self._formatter if own is not None else self._fallback_formatter
        return formatter.vformat(template, (), _KeepMissing(params))

    def has(self, key: str) -> bool:
        return key in self._own or key in self._fallback


@dataclass(frozen=True)
class Catalog:
    """All loaded locales. Immutable: a reload builds a new catalog."""

    locales: Mapping[str, Mapping[str, str]]
    default_language: str

    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.locales))

    def supports(self, lang: str | None) -> bool:
        return lang is not None and lang in self.locales

    @cached_property
    def _texts(self) -> dict[str, Texts]:
        fallback = self.locales[self.default_language]
        return {
            lang: Texts(lang, own, fallback, self.default_language)
            for lang, own in self.locales.items()
        }

    def texts(self, lang: str) -> Texts:
        return self._texts.get(lang) or self._texts[self.default_language]

    @cached_property
    def danger_detector(self) -> DangerDetector:
        """Hears danger in a message, with the patterns of every loaded language (people
        mix languages). The patterns were checked when the locales were loaded."""
        return _detector(
            tuple(
                (lang, own[DANGER_PATTERNS_KEY])
                for lang, own in sorted(self.locales.items())
                if DANGER_PATTERNS_KEY in own
            )
        )


@functools.lru_cache(maxsize=16)
def _detector(sources: tuple[tuple[str, str], ...]) -> DangerDetector:
    """One detector per set of patterns in the process: organisations that keep the
    shipped patterns share it."""
    return DangerDetector.from_sources(dict(sources))


def catalog_of(config: Config) -> Catalog:
    """The texts ``config`` runs with: its locale files, with its edited texts over them."""
    return load_catalog(
        config.locales_dir, config.bot.default_language, config.bot.texts_overrides_dir
    )


def load_catalog(
    locales_dir: Path, default_language: str, overrides_dir: Path | None = None
) -> Catalog:
    """Load and validate every locale; raises TextsInvalid listing every problem."""
    locales, problems = check_locales(locales_dir, default_language, overrides_dir)
    if default_language not in locales and not problems:
        problems.append(
            Problem(f"{default_language}.toml", "", "the default language has no locale file")
        )
    if problems:
        raise TextsInvalid(problems)
    return Catalog(locales=locales, default_language=default_language)
