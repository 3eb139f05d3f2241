"""Benchmark of the Matrix handoff: confirm an intake, until the adviser has decrypted it.

Starts a throwaway Synapse on 127.0.0.1 (installed by ./dev test), a bot with the
Matrix sink, and an adviser client with end-to-end encryption. For comparison it
times a bare matrix-nio room_send into the same room. Not a test: it prints figures.

    .venv/bin/python bench/handoff.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The project root instead of bench/, whose telegram.py would shadow python-telegram-bot.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bot.messages import Inbound, Reply
from bot.runtime import open_runtime
from tests.matrix_world import make_world
from tests.synapse_server import Synapse

_BETWEEN_HANDOFFS = 0.3  # seconds; real handoffs come minutes or days apart

STEPS = [
    {"text": "hello"},
    {"choice": "intake"},
    {"choice": "agree"},
    {"choice": "no"},
    {"text": "bullying"},
    {"choice": "skip"},
    {"choice": "anonymous"},
    {"choice": "chat"},
    {"choice": "anytime"},
    {"choice": "no_rush"},
]


async def _discard(replies: list[Reply]) -> None:
    return None


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        synapse = Synapse(Path(folder) / "synapse")
        synapse.start()
        try:
            async for world in make_world(synapse, Path(folder)):
                await measure(world, rounds)
        finally:
            synapse.stop()


async def measure(world, rounds: int) -> None:
    adviser = world.adviser.client
    listener_args = [
        world.synapse.url,
        adviser.user_id,
        adviser.device_id,
        adviser.access_token,
        adviser.store_path,
        world.room_id,
    ]
    await world.adviser.close()  # its store now belongs to the listener process
    listener = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).parent / "_adviser_listener.py"),
        *listener_args,
        stdout=asyncio.subprocess.PIPE,
    )
    assert listener.stdout is not None
    assert (await listener.stdout.readline()).strip() == b"ready"

    async def arrival() -> float:
        line = await asyncio.wait_for(listener.stdout.readline(), 30)
        return float(line.split(b"\t")[0])

    try:
        async with open_runtime(world.config()) as runtime:
            await timed_rounds(runtime, world.room_id, rounds, arrival)
    finally:
        listener.kill()
        await listener.wait()


async def timed_rounds(runtime, room_id: str, rounds: int, arrival) -> None:
    engine = runtime.engine

    async def handoff(name: str) -> float:
        for message in STEPS:
            await engine.handle(
                Inbound(
                    "bench",
                    name,
                    text=message.get("text"),
                    choice=message.get("choice"),
                    language_hint="en",
                ),
                _discard,
            )
        started = time.monotonic()
        await engine.handle(Inbound("bench", name, choice="send", language_hint="en"), _discard)
        return await arrival() - started

    async def bare(index: int) -> float:
        started = time.monotonic()
        await runtime.sink.session.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": f"bare message {index}"}
        )
        return await arrival() - started

    await handoff("warm-up")  # first login, olm sessions, the room key
    await bare(-1)
    handoffs, bares = [], []
    # Each handoff has a room key of its own, shared ahead right after the previous
    # one (bot/matrix/room_keys.py); a bare send in between would use that key up and
    # leave the next handoff to share its own. So the handoffs come first, a moment
    # apart as real ones are, then the bare sends, which reuse one key as nio does.
    for index in range(rounds):
        handoffs.append(await handoff(f"person-{index}"))
        await asyncio.sleep(_BETWEEN_HANDOFFS)
    for index in range(rounds):
        bares.append(await bare(index))

    handoff_ms = statistics.median(handoffs) * 1000
    bare_ms = statistics.median(bares) * 1000
    print(
        f"rounds: {rounds} of each, after one warm-up; Synapse on 127.0.0.1 (SQLite); "
        "the adviser's client in its own process"
    )
    print(
        f"confirm intake -> adviser decrypted: median {handoff_ms:.1f} ms "
        f"(min {min(handoffs) * 1000:.1f}, max {max(handoffs) * 1000:.1f})"
    )
    print(
        f"bare nio room_send -> adviser decrypted: median {bare_ms:.1f} ms "
        f"(min {min(bares) * 1000:.1f}, max {max(bares) * 1000:.1f})"
    )
    ratio = handoff_ms / bare_ms
    print(f"ratio: {ratio:.2f} (target < 1.2): {'met' if ratio < 1.2 else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args().rounds))
