"""Shared fixtures: a real runtime (store, inbox, outbox) on a temporary data dir."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bot.config import Config, load_config
from bot.keys.crypto import FieldCipher, new_key_material
from bot.messages import Inbound, InboundKind, Reply
from bot.runtime import Runtime, open_runtime
from bot.store import SqliteStore
from bot.texts.catalog import Catalog, Texts, load_catalog
from tests.fake_telegram import FakeTelegram

# The throwaway Synapse (one per test session) and a world on it, for the Matrix tests.
from tests.matrix_world import synapse, world  # noqa: F401 - fixtures

# As `vertrouwd` itself does at start-up (bot/cli.py): what the tests write (password
# and token files) is private, or the bot refuses it.
os.umask(0o077)

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"


class FakeClock:
    """Wall-clock seconds that a test moves forward by hand."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write_config(tmp_path: Path, extra: str = "", *, fast: bool = True) -> Path:
    """A config file using a private data dir; ``fast`` lifts the flood limit for scripts."""
    limits = "[limits]\nburst_messages = 10000\n" if fast and "[limits]" not in extra else ""
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\ndata_dir = "data"\nlog_level = "DEBUG"\n{limits}{extra}\n')
    return path


def make_config(tmp_path: Path, extra: str = "", *, fast: bool = True) -> Config:
    return load_config(write_config(tmp_path, extra, fast=fast), environ={})


@pytest.fixture(scope="session", autouse=True)
def shipped_locales_stay_untouched() -> Iterator[None]:
    """Tests edit copies of the locales, never the project's own files."""
    before = {p.name: p.read_bytes() for p in LOCALES.glob("*.toml")}
    yield
    after = {p.name: p.read_bytes() for p in LOCALES.glob("*.toml")}
    assert after == before, "a test changed the project's locale files"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A local stand-in for Telegram's Bot API on 127.0.0.1."""
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    """A copy of the project's locales that a test may edit."""
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in a text file, which must contain it."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(LOCALES, "nl")


@pytest.fixture
def en(catalog: Catalog) -> Texts:
    return catalog.texts("en")


@pytest.fixture
def nl(catalog: Catalog) -> Texts:
    return catalog.texts("nl")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """The real store on a temporary file, with a fresh key (store contract tests
    bring their own, over every store)."""
    opened = await SqliteStore.open(
        tmp_path / "store.sqlite3", FieldCipher(new_key_material()), "handoff-synced"
    )
    yield opened
    await opened.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
async def runtime(config: Config, clock: FakeClock) -> AsyncIterator[Runtime]:
    async with open_runtime(config, clock) as rt:
        yield rt


@dataclass
class Person:
    """Someone talking to the bot through the real engine, as a channel adapter would."""

    runtime: Runtime
    user: str
    lang: str | None = "en"
    channel: str = "terminal"
    replies: list[Reply] = field(default_factory=list)

    async def _send(self, inbound: Inbound) -> list[Reply]:
        got: list[Reply] = []

        async def deliver(replies: Sequence[Reply]) -> None:
            got.extend(replies)

        # Like the terminal, the person's name there is where relays reach them.
        await self.runtime.engine.handle(dataclasses.replace(inbound, reply_to=self.user), deliver)
        self.replies = got
        return got

    async def say(self, text: str) -> list[Reply]:
        return await self._send(
            Inbound(self.channel, self.user, text=text, language_hint=self.lang)
        )

    async def pick(self, choice: str, question: str | None = None) -> list[Reply]:
        """Press a button: by default one on the question now shown."""
        token = question if question is not None else self.question.question
        return await self._send(
            Inbound(self.channel, self.user, choice=choice, language_hint=self.lang, question=token)
        )

    async def send_media(self) -> list[Reply]:
        return await self._send(
            Inbound(self.channel, self.user, kind=InboundKind.UNSUPPORTED, language_hint=self.lang)
        )

    @property
    def question(self) -> Reply:
        return self.replies[-1] if self.replies else Reply("")

    @property
    def texts(self) -> list[str]:
        return [reply.text for reply in self.replies]

    def choice_ids(self) -> list[str]:
        return [choice.id for choice in self.question.choices]

    async def until_topic(self, *, adviser: str = "adviser-a", danger: str = "no") -> None:
        await self.say("hello")
        await self.pick("intake")
        await self.pick("agree")
        if "adviser-a" in self.choice_ids():
            await self.pick(adviser)
        await self.pick(danger)
        if danger == "yes":
            await self.pick("go_on")  # not sent at once: the other questions first

    async def full_intake(
        self, description: str = "My manager shouts at me", name: str = "Robin", danger: str = "no"
    ) -> list[Reply]:
        await self.until_topic(danger=danger)
        await self.pick("bullying")
        await self.say(description)
        return await self.send_from_name(name)

    async def send_from_name(self, name: str = "Robin") -> list[Reply]:
        """The rest of a request, from the name on, and send it."""
        await self.say(name)
        await self.pick("email")
        await self.say("robin@example.nl")
        await self.pick("message_ok")
        await self.pick("evenings")
        await self.pick("this_week")
        return await self.pick("send")


@pytest.fixture(params=["text", "json"])
def log_format(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> str:
    """A log canary test runs twice: with caplog.text as text lines, then as JSON lines
    (the formatter of `log.format = "json"`)."""
    if request.param == "json":
        from bot.ops.log_json import JsonLines

        caplog.handler.setFormatter(JsonLines())
    return str(request.param)


@pytest.fixture
def person(runtime: Runtime) -> Person:
    return Person(runtime, "alice")


def asked(t: Texts, key: str, **values: object) -> str:
    """An intake question as the person sees it: with how to stop, pause or erase."""
    return f"{t(key, **values)}\n\n{t('intake.way_out', hours='72')}"


def with_bot_settings(config: Config, **changes: Any) -> Config:
    """The config with some of its [bot] settings changed (a test's own locales)."""
    return msgspec.structs.replace(config, bot=msgspec.structs.replace(config.bot, **changes))


def run_cli(
    args: Sequence[str],
    *,
    stdin: str = "",
    env: dict[str, str] | None = None,
    timeout: float = 60,
    umask: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``vertrouwd`` as a separate process, as a person or script would (from a
    shell whose ``umask`` is given, when it is)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
        preexec_fn=None if umask is None else lambda: os.umask(umask),
    )


def jsonl(*messages: dict[str, str]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


def bot_messages(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
