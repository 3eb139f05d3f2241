"""What `vertrouwd init` needs to know, from flags, from the config so far, or asked.

Every answer has a default: the config written by an earlier run, else the
documented example. A flag overrides it; a question (interactive runs) shows it and
Enter keeps it. So a second run with the same answers changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

Ask = Callable[[str], str]  # shows a prompt, returns the line typed

# The adviser settings that are optional and may be unknown to this version's loader.
OPTIONAL_ADVISER_SETTINGS = ("working_hours", "phone", "email")
_SPEC_KEYS = {
    "id": "id",
    "name": "name",
    "matrix": "matrix_user_id",
    "hours": "working_hours",
    "working_hours": "working_hours",
    "phone": "phone",
    "email": "email",
}


class AnswerError(Exception):
    """An answer that cannot be used; the message says which and why."""


@dataclass
class AdviserAnswer:
    id: str
    name: str
    profile: dict[str, str] = field(default_factory=dict)
    matrix_user_id: str = ""
    working_hours: str = ""
    phone: str = ""
    email: str = ""


@dataclass
class Answers:
    organisation: str
    language: str
    advisers: list[AdviserAnswer]
    telegram_token_file: str = ""  # empty: no Telegram
    telegram_api_url: str = "https://api.telegram.org"
    matrix_homeserver: str = ""  # empty: no Matrix
    matrix_user: str = ""
    matrix_password_file: str = ""
    matrix_dm: bool = False
    admins: list[str] = field(default_factory=list)
    web: bool = False  # the anonymous web chat
    web_public_url: str = ""
    web_port: int = 8080
    web_trusted_proxies: list[str] = field(default_factory=list)
    ops: bool = False  # /healthz, /readyz, /metrics on 127.0.0.1
    ops_port: int = 9464
    log_format: str = "text"

    @property
    def matrix(self) -> bool:
        return bool(self.matrix_homeserver)


def slug(name: str) -> str:
    """An adviser id from a name: "Anne-Marie de Vries" -> "anne-marie-de-vries"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40] or "adviser"


def parse_adviser(spec: str, language: str) -> AdviserAnswer:
    """``name=Anna; matrix=@anna:example.org; profile=...; profile.en=...; hours=...``"""
    values: dict[str, Any] = {"profile": {}}
    for part in spec.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise AnswerError(f"--adviser: {part.strip()!r} is not key=value")
        if key == "profile" or key.startswith("profile."):
            values["profile"][key.partition(".")[2] or language] = value
        elif key in _SPEC_KEYS:
            values[_SPEC_KEYS[key]] = value
        else:
            raise AnswerError(f"--adviser: unknown key {key!r} (known: {', '.join(_SPEC_KEYS)})")
    if not values.get("name"):
        raise AnswerError("--adviser: needs name=...")
    values.setdefault("id", slug(values["name"]))
    return AdviserAnswer(**values)


def _ask_default(ask: Ask, prompt: str, default: str) -> str:
    shown = f" [{default}]" if default else ""
    return ask(f"{prompt}{shown}: ").strip() or default


def _ask_yes(ask: Ask, prompt: str, default: bool) -> bool:
    answer = ask(f"{prompt} [{'Y/n' if default else 'y/N'}]: ").strip().lower()
    return default if not answer else answer.startswith(("y", "j"))


def _ask_adviser(
    ask: Ask, number: int, known: AdviserAnswer | None, answers: Answers
) -> AdviserAnswer:
    old = known or AdviserAnswer("", "")
    print(f"Adviser {number}:")
    name = ""
    while not name:
        name = _ask_default(ask, "  name, as employees see it", old.name)
    if name != old.name:
        # Another person: what the earlier entry said describes someone else.
        old = AdviserAnswer("", "", working_hours=old.working_hours)
    profile: dict[str, str] = {}
    unchanged = True  # a translation is offered only while the text it translates stays
    for lang in dict.fromkeys([answers.language, "nl", "en"]):
        optional = "" if lang == answers.language else ", optional"
        offered = old.profile.get(lang, "") if unchanged else ""
        text = _ask_default(ask, f"  short profile ({lang}{optional})", offered)
        unchanged = unchanged and text == old.profile.get(lang, "")
        if text:
            profile[lang] = text
    matrix_id = old.matrix_user_id
    if answers.matrix:
        matrix_id = ""
        while not matrix_id.startswith("@"):
            matrix_id = _ask_default(ask, "  Matrix id, like @name:example.org", old.matrix_user_id)
    return AdviserAnswer(
        # The id stays with the person: another name is another adviser.
        id=old.id if old.id and name == old.name else slug(name),
        name=name,
        profile=profile,
        matrix_user_id=matrix_id,
        working_hours=_ask_default(
            ask, "  working hours, e.g. Mon-Thu 9:00-17:00", old.working_hours
        ),
        phone=_ask_default(ask, "  own phone number for employees (optional)", old.phone),
        email=_ask_default(ask, "  own e-mail address for employees (optional)", old.email),
    )


def _ask_port(ask: Ask, prompt: str, default: int) -> int:
    typed = ""
    while not (typed.isdigit() and 1 <= int(typed) <= 65535):
        typed = _ask_default(ask, prompt, str(default))
    return int(typed)


def _ask_web(ask: Ask, answers: Answers) -> None:
    answers.web = _ask_yes(
        ask, "Web chat: an anonymous chat in the browser, no app needed; switch it on", answers.web
    )
    if not answers.web:
        return
    url = "-"
    while url and not re.match(r"^https?://\S+$", url):
        url = _ask_default(
            ask,
            "  Web chat: the address employees use, e.g. https://praat.example.nl"
            " (empty: not known yet)",
            answers.web_public_url,
        ).rstrip("/")
    answers.web_public_url = url
    answers.web_port = _ask_port(
        ask, "  Web chat: the port it listens on, on 127.0.0.1, behind your proxy", answers.web_port
    )
    proxies = _ask_default(
        ask,
        "  Web chat: your reverse proxy's address, whose X-Forwarded-For is believed (empty: none)",
        " ".join(answers.web_trusted_proxies) or ("127.0.0.1" if url else ""),
    )
    answers.web_trusted_proxies = proxies.split()


def _ask_running(ask: Ask, answers: Answers) -> None:
    answers.ops = _ask_yes(
        ask,
        "Ops listener: /healthz, /readyz and /metrics on 127.0.0.1, for monitoring; switch it on",
        answers.ops,
    )
    if answers.ops:
        answers.ops_port = _ask_port(ask, "  Ops listener: its port", answers.ops_port)
    chosen = ""
    while chosen not in ("text", "json"):
        chosen = _ask_default(
            ask,
            "Log format: text (readable lines) or json (for a log collector)",
            answers.log_format,
        )
    answers.log_format = chosen


def ask_everything(ask: Ask, answers: Answers) -> Answers:
    """The interactive run: every question, with the answer so far as its default.

    ``answers`` is filled in as the questions go, so a run stopped half-way (Ctrl-C)
    keeps what was answered (``run_init`` writes it down for the next run)."""
    defaults = replace(answers, advisers=list(answers.advisers), admins=list(answers.admins))
    answers.organisation = _ask_default(ask, "Organisation name", defaults.organisation)
    language = ""
    while language not in ("nl", "en"):
        language = _ask_default(ask, "Language of the bot (nl, en)", defaults.language)
    answers.language = language
    answers.telegram_token_file = _ask_default(
        ask, "Telegram: file for the bot token (empty: no Telegram)", defaults.telegram_token_file
    )
    answers.matrix_homeserver = _ask_default(
        ask, "Matrix: homeserver URL (empty: no Matrix)", defaults.matrix_homeserver
    ).rstrip("/")
    if answers.matrix:
        server = re.sub(r"^https?://(matrix\.)?", "", answers.matrix_homeserver).split("/")[0]
        answers.matrix_user = _ask_default(
            ask, "Matrix: the bot's account", defaults.matrix_user or f"@vertrouwd:{server}"
        )
        answers.matrix_password_file = _ask_default(
            ask, "Matrix: file for the bot account's password", defaults.matrix_password_file
        )
        answers.matrix_dm = _ask_yes(
            ask, "Employees may write in Matrix direct chats", defaults.matrix_dm
        )
        admins = _ask_default(
            ask,
            "Admins' Matrix ids, separated by spaces (empty: no admin room)",
            " ".join(defaults.admins),
        )
        answers.admins = admins.split()
    _ask_web(ask, answers)
    _ask_running(ask, answers)
    count = ""
    while not count.isdigit() or int(count) < 1:
        count = _ask_default(ask, "How many advisers", str(max(len(defaults.advisers), 1)))
    answers.advisers = list(defaults.advisers[: int(count)])
    for i in range(int(count)):
        known = defaults.advisers[i] if i < len(defaults.advisers) else None
        adviser = _ask_adviser(ask, i + 1, known, answers)
        if i < len(answers.advisers):
            answers.advisers[i] = adviser
        else:
            answers.advisers.append(adviser)
    return answers
