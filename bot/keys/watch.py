"""A running bot follows its key file: after `vertrouwd keys rotate` adds a data key,
new data is sealed with it, and a retired key is dropped from memory as well."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.keys.crypto import FieldCipher, KeyFileError, read_key_file

log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ino)


async def watch_key_file(path: Path, cipher: FieldCipher, interval: float) -> None:
    seen = _stamp(path)
    while True:
        await asyncio.sleep(interval)
        stamp = _stamp(path)
        if stamp is None or stamp == seen:
            continue
        seen = stamp
        try:
            material = read_key_file(path)
        except KeyFileError as exc:
            log.error("changed key file refused; the keys in use stay: %s", exc)
            continue
        cipher.use(material)
        log.info(
            "key file reloaded: sealing with data key version %d (versions %s)",
            material.current,
            ", ".join(str(v) for v in sorted(material.data_keys)),
        )
