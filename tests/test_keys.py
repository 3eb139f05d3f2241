"""The key file: created on first start, owner-only, refused when exposed or broken."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.keys.crypto import (
    DecryptionError,
    FieldCipher,
    KeyFileError,
    UserKeyer,
    load_or_create_keys,
    read_key_file,
)


def test_first_start_creates_an_owner_only_key_file_and_reuses_it(tmp_path: Path):
    path = tmp_path / "data" / "secret.key"
    keys = load_or_create_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_keys(path) == keys
    keyer = UserKeyer(keys)
    assert keyer("telegram", "42") == UserKeyer(read_key_file(path))("telegram", "42")
    assert keyer("telegram", "42") != keyer("matrix", "42")
    assert b"42" not in keyer("telegram", "42")


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path):
    path = tmp_path / "secret.key"
    load_or_create_keys(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        read_key_file(path)


def test_a_damaged_key_file_is_refused_with_a_clear_message(tmp_path: Path):
    path = tmp_path / "secret.key"
    path.write_text('{"format": 1}')
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="not a valid vertrouwd key file"):
        read_key_file(path)


def test_sealed_values_are_bound_to_their_row(tmp_path: Path):
    cipher = FieldCipher(load_or_create_keys(tmp_path / "k"))
    blob = cipher.seal(b"hello", b"row-1")
    assert cipher.open(blob, b"row-1") == b"hello"
    assert cipher.seal(b"hello", b"row-1") != blob  # a fresh nonce each time
    with pytest.raises(DecryptionError):
        cipher.open(blob, b"row-2")
    with pytest.raises(DecryptionError):
        cipher.open(blob[:-1] + bytes([blob[-1] ^ 1]), b"row-1")


def test_a_truncated_sealed_value_is_refused_like_a_forged_one(tmp_path: Path):
    cipher = FieldCipher(load_or_create_keys(tmp_path / "k"))
    blob = cipher.seal(b"hello", b"row-1")
    for broken in (blob[:2], blob[:14], blob[:-16], b""):
        with pytest.raises(DecryptionError):
            cipher.open(broken, b"row-1")
