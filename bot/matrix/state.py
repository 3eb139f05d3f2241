"""What the bot keeps about its Matrix account, sealed with its data key in one file."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.keys.crypto import DecryptionError, FieldCipher
from bot.store.base import StoreError
from bot.util.private_files import replace_file

STATE_FILE = "matrix-state.sealed"
_AAD = b"matrix-state"


@dataclass
class MatrixState:
    # nio's store is protected with this key instead of nio's public default.
    pickle_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    device_id: str | None = None
    access_token: str | None = None
    # Cross-signing private keys (master, self_signing, user_signing), base64.
    cross_signing: dict[str, str] | None = None
    # Advisers' master keys as first seen: a change stops delivery.
    pinned_master_keys: dict[str, str] = field(default_factory=dict)
    # Adviser devices already announced as left out, per room.
    announced_exclusions: dict[str, list[str]] = field(default_factory=dict)
    # Where the next sync continues: saved only after what it brought was handled.
    sync_token: str | None = None
    # Direct chats with employees the bot joined; only these are served as a channel.
    direct_rooms: list[str] = field(default_factory=list)
    # Employees' master keys as first seen in their direct chat, by the keyed hash of
    # their Matrix id (hex), as the store knows them: a change stops sending.
    employee_master_keys: dict[str, str] = field(default_factory=dict)
    # Whom each direct chat is with (who invited the bot): the only other member allowed.
    direct_room_people: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path, cipher: FieldCipher) -> MatrixState:
        path = data_dir / STATE_FILE
        if not path.exists():
            return cls()
        try:
            return cls(**json.loads(cipher.open(path.read_bytes(), _AAD)))
        except (DecryptionError, ValueError, TypeError) as exc:
            raise StoreError(
                f"{path} cannot be read with this key file; restore the matching key file"
            ) from exc

    def save(self, data_dir: Path, cipher: FieldCipher) -> None:
        sealed = cipher.seal(json.dumps(asdict(self)).encode(), _AAD)
        replace_file(data_dir / STATE_FILE, sealed)
