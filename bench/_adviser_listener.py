"""The adviser's client for bench/handoff.py, in its own process as on a real phone.

Prints one line per decrypted message in the room: the system-wide monotonic time
at which it was decrypted, a tab, and the first line of its body.
"""

from __future__ import annotations

import asyncio
import sys
import time

from nio import AsyncClient, AsyncClientConfig, RoomMessageText


async def main(
    homeserver: str, user_id: str, device_id: str, token: str, store: str, room_id: str
) -> None:
    client = AsyncClient(
        homeserver,
        user_id,
        device_id=device_id,
        store_path=store,
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
    )
    client.restore_login(user_id, device_id, token)

    async def on_message(room, event) -> None:
        if room.room_id == room_id:
            first_line = event.body.splitlines()[0] if event.body else ""
            print(f"{time.monotonic()}\t{first_line}", flush=True)

    client.add_event_callback(on_message, RoomMessageText)
    await client.sync(timeout=0)
    print("ready", flush=True)
    await client.sync_forever(timeout=30_000)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
