"""Only what the cryptography proves is believed, on the throwaway Synapse.

A homeserver that lies in /keys/query cannot get its own device signed as the bot's.
"""

from __future__ import annotations

import copy
import shutil
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.crypto import FieldCipher, load_or_create_keys
from bot.matrix.errors import CrossSigningError
from bot.matrix.session import MatrixSession
from bot.matrix.signing import public_key_b64, sign_json
from tests.matrix_proxy import LyingHomeserver
from tests.matrix_world import World
from tests.test_matrix_handoff import keys_seen_by_a_stranger

KEYS_QUERY = "/_matrix/client/v3/keys/query"
SIGNATURES_UPLOAD = "/_matrix/client/v3/keys/signatures/upload"


def forged_device(device: dict[str, Any], user_id: str, attacker: Ed25519PrivateKey) -> Any:
    """The same device id with the attacker's key, properly self-signed by it."""
    device_id = device["device_id"]
    forged = {k: copy.deepcopy(v) for k, v in device.items() if k not in ("signatures",)}
    forged["keys"] = {
        f"ed25519:{device_id}": public_key_b64(attacker),
        f"curve25519:{device_id}": device["keys"][f"curve25519:{device_id}"],
    }
    signed = sign_json(forged, user_id, attacker)
    signature = signed["signatures"][user_id].pop(f"ed25519:{public_key_b64(attacker)}")
    signed["signatures"][user_id][f"ed25519:{device_id}"] = signature
    return signed


async def test_a_homeserver_substituting_the_bot_device_keys_gets_nothing_signed(world: World):
    proxy = await LyingHomeserver(world.synapse.url).start()
    attacker = Ed25519PrivateKey.generate()

    def substitute(answer: dict[str, Any]) -> dict[str, Any]:
        devices = answer.get("device_keys", {}).get(world.bot_id, {})
        for device_id, device in list(devices.items()):
            devices[device_id] = forged_device(device, world.bot_id, attacker)
        return answer

    proxy.rewrites[KEYS_QUERY] = substitute
    config = world.config(homeserver=proxy.url)
    shutil.rmtree(config.data_dir / "matrix-store")  # a new device, never signed
    (config.data_dir / "matrix-state.sealed").unlink()
    session = MatrixSession(
        config.matrix,  # type: ignore[arg-type]
        config.data_dir,
        FieldCipher(load_or_create_keys(config.key_file)),
    )
    try:
        with pytest.raises(CrossSigningError, match="differs from the device's own keys"):
            await session.open()
        assert not session.ready
        device_id = session.client.device_id  # type: ignore[union-attr]
    finally:
        await session.close()
        await proxy.stop()
    assert ("POST", SIGNATURES_UPLOAD) not in proxy.requested
    # What everyone else sees: the bot's real device, not signed by its identity either.
    seen = await keys_seen_by_a_stranger(world)
    device = seen["device_keys"][world.bot_id][device_id]
    assert device["keys"][f"ed25519:{device_id}"] != public_key_b64(attacker)
    assert list(device["signatures"][world.bot_id]) == [f"ed25519:{device_id}"]
