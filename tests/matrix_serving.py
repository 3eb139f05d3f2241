"""`vertrouwd run` inside a test, against the throwaway Synapse."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bot.channels import serve
from bot.config import Config
from bot.runtime import Runtime, open_runtime

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


@contextlib.asynccontextmanager
async def serving(config: Config) -> AsyncIterator[Runtime]:
    """`vertrouwd run` in this process, stopped as on SIGTERM when the block ends."""
    stopping = asyncio.Event()
    async with open_runtime(config) as runtime:
        task = asyncio.create_task(serve(runtime, stopping))
        session = runtime.matrix_session
        assert session is not None
        for _ in range(400):
            if session.ready or task.done():
                break
            await asyncio.sleep(0.05)
        assert session.ready, "the bot did not log in"
        try:
            yield runtime
        finally:
            stopping.set()
            await task
