"""Field encryption (AES-256-GCM) and keyed lookups (HMAC-SHA256).

The key file holds a lookup key, which never rotates because stored lookups
depend on it, and one or more numbered data keys; new data is sealed with the
current one and older versions stay readable until rotated out.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NewType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

UserKey = NewType("UserKey", bytes)

KEY_FILE_FORMAT = 1
_NONCE_BYTES = 12
_VERSION_BYTES = 2
_TAG_BYTES = 16


class KeyFileError(Exception):
    """The key file is missing, unreadable, malformed or too widely readable."""


class DecryptionError(Exception):
    """A sealed field could not be opened: wrong key, wrong row, or tampered."""


class MissingDataKey(DecryptionError):
    """The field was sealed with a data key version the key file does not hold (a key
    file from before a rotation, or data from before one): no damage, a missing key."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no data key with version {version}")
        self.version = version


@dataclass(frozen=True)
class KeyMaterial:
    lookup_key: bytes
    data_keys: dict[int, bytes]
    current: int


def version_prefix(version: int) -> bytes:
    return version.to_bytes(_VERSION_BYTES, "big")


class FieldCipher:
    """Seals values with AES-256-GCM, binding the row identity as associated data."""

    def __init__(self, material: KeyMaterial) -> None:
        self.use(material)

    def use(self, material: KeyMaterial) -> None:
        """Take up an edited key file (a rotation): new data is sealed with its current
        key from now on, and only its versions open."""
        self._aeads = {version: AESGCM(key) for version, key in material.data_keys.items()}
        self._current = material.current
        self._prefix = version_prefix(material.current)
        self.fingerprint = key_fingerprint(material)

    @property
    def prefix(self) -> bytes:
        """How every field sealed now begins: the current key's version."""
        return self._prefix

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return self._prefix + nonce + self._aeads[self._current].encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        version = int.from_bytes(blob[:_VERSION_BYTES], "big")
        aead = self._aeads.get(version)
        if aead is None:
            raise MissingDataKey(version)
        start = _VERSION_BYTES + _NONCE_BYTES
        if len(blob) < start + _TAG_BYTES:
            raise DecryptionError("sealed field is too short to be genuine")
        try:
            return aead.decrypt(blob[_VERSION_BYTES:start], blob[start:], aad)
        except InvalidTag as exc:
            raise DecryptionError("sealed field failed authentication") from exc


class UserKeyer:
    """Turns a platform user id into a stable keyed hash, so raw ids are never stored."""

    def __init__(self, material: KeyMaterial) -> None:
        # Keyed once: a copy per message is a third of the cost of keying anew.
        self._keyed = hmac.new(material.lookup_key, digestmod=hashlib.sha256)

    def __call__(self, channel: str, user_id: str) -> UserKey:
        mac = self._keyed.copy()
        mac.update(f"{channel}\x1f{user_id}".encode())
        return UserKey(mac.digest())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_key_material() -> KeyMaterial:
    return KeyMaterial(
        lookup_key=secrets.token_bytes(32), data_keys={1: secrets.token_bytes(32)}, current=1
    )


def _key_document(material: KeyMaterial, retiring: tuple[int, ...] = ()) -> dict[str, object]:
    document: dict[str, object] = {
        "format": KEY_FILE_FORMAT,
        "lookup_key": _b64(material.lookup_key),
        "data_keys": {str(v): _b64(k) for v, k in material.data_keys.items()},
        "current": material.current,
    }
    if retiring:
        document["retiring"] = list(retiring)  # a rotation in progress
    return document


def _write_new(path: Path, document: dict[str, object]) -> None:
    """Written whole beside it, then linked into place: a second process starting at
    the same moment finds either no key file or a complete one, never a half one."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(staged, path)  # FileExistsError if there is one: never overwritten
    finally:
        staged.unlink(missing_ok=True)


def write_key_file(path: Path, material: KeyMaterial) -> None:
    """Write a new key file readable only by its owner; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(path, _key_document(material))


def replace_key_file(path: Path, material: KeyMaterial, retiring: tuple[int, ...]) -> None:
    """Rewrite the key file for a rotation, all at once: a crash leaves the old file
    or the new one, never half of either. ``retiring``: versions being re-sealed."""
    draft = path.with_name(path.name + ".new")
    draft.unlink(missing_ok=True)  # left by a write that was cut off; the file itself is whole
    _write_new(draft, _key_document(material, retiring))
    os.replace(draft, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def retiring_versions(path: Path) -> tuple[int, ...]:
    """The data key versions a rotation that has not finished still has to replace."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return tuple(int(v) for v in document.get("retiring", []))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise KeyFileError(f"key file {path} is not a valid vertrouwd key file") from exc


def read_key_file(path: Path) -> KeyMaterial:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {path} does not exist") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is readable by others; run: chmod 600 {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        data_keys = {int(v): base64.b64decode(k) for v, k in document["data_keys"].items()}
        material = KeyMaterial(
            lookup_key=base64.b64decode(document["lookup_key"]),
            data_keys=data_keys,
            current=int(document["current"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(
            f"key file {path} is not a valid vertrouwd key file; put back the copy you keep"
        ) from exc
    if material.current not in data_keys or any(
        len(k) != 32 for k in [material.lookup_key, *data_keys.values()]
    ):
        raise KeyFileError(f"key file {path} has a missing or short key")
    return material


def load_or_create_keys(path: Path) -> KeyMaterial:
    """Read the key file, creating one with fresh random keys the first time."""
    if not path.exists():
        # Another process may create it first; then we read theirs.
        with contextlib.suppress(FileExistsError):
            write_key_file(path, new_key_material())
    return read_key_file(path)


def key_fingerprint(material: KeyMaterial) -> str:
    """Names the key file a database belongs to, and gives away nothing of the key:
    a keyed hash of a fixed label under the lookup key (which never rotates)."""
    return hmac.new(material.lookup_key, b"vertrouwd key fingerprint 1", hashlib.sha256).hexdigest()


def data_key_fingerprints(material: KeyMaterial) -> dict[int, str]:
    """Names each data key version, and gives away nothing of it: a keyed hash of a fixed
    label under that key. Two key files with the same version number but another key
    differ here."""
    return {
        version: hmac.new(key, b"vertrouwd data key fingerprint 1", hashlib.sha256).hexdigest()
        for version, key in sorted(material.data_keys.items())
    }


def derived_key(secret: bytes, purpose: bytes) -> bytes:
    """A key of its own for one ``purpose`` (HKDF-SHA256), never the key file's key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
