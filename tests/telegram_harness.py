"""The real bot (runtime and Telegram channel) against the fake Bot API, and a person's view."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.adapters.telegram.channel import TelegramChannel
from bot.adapters.telegram.inbound import parse_callback
from bot.channels import build_channels
from bot.config import Config
from bot.runtime import Runtime, open_runtime
from tests.conftest import LOCALES, ROOT, make_config, with_bot_settings, write_config
from tests.fake_telegram import FakeTelegram, Person

T = TypeVar("T")


async def until(check: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Wait for ``check`` to give something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.01)
    return result


def telegram_section(tmp_path: Path, fake: FakeTelegram, extra: str) -> str:
    (tmp_path / "telegram.token").write_text(fake.token + "\n")
    (tmp_path / "telegram.token").chmod(0o600)  # the bot refuses a token others can read
    return (
        f'[telegram]\nenabled = true\ntoken_file = "telegram.token"\n'
        f'api_base_url = "http://127.0.0.1:{fake.port}"\npoll_timeout_seconds = 1\n{extra}'
    )


def telegram_config(tmp_path: Path, fake: FakeTelegram, extra: str = "") -> Config:
    """With its own copy of the locales, which a test may edit."""
    locales = tmp_path / "locales"
    if not locales.exists():
        shutil.copytree(LOCALES, locales)
    config = make_config(tmp_path, telegram_section(tmp_path, fake, extra))
    return with_bot_settings(config, locales_dir=locales)


def telegram_config_file(tmp_path: Path, fake: FakeTelegram, extra: str = "") -> Path:
    return write_config(tmp_path, telegram_section(tmp_path, fake, extra))


class BotProcess:
    """``vertrouwd run`` as its own process, as an admin would start it."""

    def __init__(self, config_file: Path) -> None:
        self.config_file = config_file
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(self.config_file),
            cwd=ROOT,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )

    async def stop(self) -> tuple[int, str]:
        """SIGTERM, as systemd sends it; the exit code and what it logged."""
        assert self.process is not None and self.process.stderr is not None
        self.process.send_signal(signal.SIGTERM)
        _, logged = await asyncio.wait_for(self.process.communicate(), 30)
        return await self.process.wait(), logged.decode()

    def idle(self) -> bool:
        return True  # a step's replies arrive as one message: seeing it is enough


@dataclass
class RunningBot:
    runtime: Runtime
    channel: TelegramChannel

    def idle(self) -> bool:
        processor = self.channel.app.update_processor
        return processor.current_concurrent_updates == 0 and self.channel.app.update_queue.empty()


@contextlib.asynccontextmanager
async def running_bot(config: Config) -> AsyncIterator[RunningBot]:
    """``vertrouwd run`` in this process: stops as on SIGTERM when the block ends."""
    stopping = asyncio.Event()
    async with open_runtime(config) as runtime:
        channels = build_channels(runtime)
        channel = channels[0]
        assert isinstance(channel, TelegramChannel)
        task = asyncio.create_task(channel.run(stopping))
        try:
            await until(lambda: channel.app.updater is not None and channel.app.updater.running)
            yield RunningBot(runtime, channel)
        finally:
            stopping.set()
            await task


class Chat:
    """One person's private chat with the bot, as their Telegram app shows it."""

    def __init__(self, fake: FakeTelegram, bot: RunningBot | BotProcess, person: Person) -> None:
        self.fake = fake
        self.bot = bot
        self.person = person
        self.new: list[dict[str, Any]] = []
        self.last_sent: Any = None  # the update the person's last action caused

    def messages(self) -> list[dict[str, Any]]:
        return self.fake.bot_messages_to(self.person.id)

    async def _after(self, cause: Callable[[], object]) -> list[dict[str, Any]]:
        before = len(self.messages())
        self.last_sent = cause()
        await until(lambda: len(self.messages()) > before and not self.fake.updates)
        await until(self.bot.idle)
        self.new = self.messages()[before:]
        return self.new

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self._after(lambda: self.fake.send_text(self.person, text))

    async def press(
        self, choice_id: str, message: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Press the button for ``choice_id`` on ``message`` (default: the last keyboard)."""
        message = message or self.last_keyboard()
        data = next(
            button["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for button in row
            if parse_callback(button["callback_data"])[1] == choice_id
        )
        return await self._after(lambda: self.fake.press(self.person, message["message_id"], data))

    def last_keyboard(self) -> dict[str, Any]:
        return next(m for m in reversed(self.messages()) if m.get("reply_markup"))

    def texts(self) -> list[str]:
        return [m["text"] for m in self.new]

    def choice_ids(self) -> list[str]:
        markup = self.new[-1].get("reply_markup") or {"inline_keyboard": []}
        return [parse_callback(row[0]["callback_data"])[1] for row in markup["inline_keyboard"]]
