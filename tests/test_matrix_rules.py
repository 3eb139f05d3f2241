"""The room guard and device trust rules, on hand-made server answers."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.matrix.guard import MEGOLM, room_problems
from bot.matrix.identity import CrossSigningKeys
from bot.matrix.signing import public_key_b64, sign_json
from bot.matrix.trust import device_trust, trust_problem

BOT, ADVISER, STRANGER = "@bot:hs", "@anna:hs", "@eve:hs"


def state(**overrides) -> list[dict]:
    events = {
        "m.room.encryption": {"algorithm": MEGOLM},
        "m.room.join_rules": {"join_rule": "invite"},
        "m.room.history_visibility": {"history_visibility": "invited"},
    }
    events.update(overrides)
    result = [{"type": t, "state_key": "", "content": c} for t, c in events.items() if c]
    for user, membership in ((BOT, "join"), (ADVISER, "join")):
        result.append(
            {"type": "m.room.member", "state_key": user, "content": {"membership": membership}}
        )
    return result


def member(user: str, membership: str) -> dict:
    return {"type": "m.room.member", "state_key": user, "content": {"membership": membership}}


def test_a_private_encrypted_room_of_two_is_safe():
    assert room_problems(state(), BOT, ADVISER) == []
    assert room_problems([*state(), member(STRANGER, "leave")], BOT, ADVISER) == []
    assert room_problems([*state(), member(STRANGER, "ban")], BOT, ADVISER) == []


def test_every_unsafe_room_is_named():
    assert room_problems(state(**{"m.room.encryption": None}), BOT, ADVISER) == ["not-encrypted"]
    assert room_problems(state(**{"m.room.join_rules": {"join_rule": "public"}}), BOT, ADVISER) == [
        "not-invite-only"
    ]
    assert room_problems(
        state(**{"m.room.history_visibility": {"history_visibility": "world_readable"}}),
        BOT,
        ADVISER,
    ) == ["history-readable-by-anyone"]
    assert room_problems([*state(), member(STRANGER, "invite")], BOT, ADVISER) == [
        "other-members:1"
    ]
    only_bot = [e for e in state() if e.get("state_key") != ADVISER]
    assert room_problems(only_bot, BOT, ADVISER) == ["adviser-not-in-room"]


def identity_answer(
    keys: CrossSigningKeys, devices: dict[str, Ed25519PrivateKey], signed: set[str]
) -> dict:
    body = keys.upload_body(ADVISER)
    device_keys = {}
    for device_id, key in devices.items():
        device = {
            "user_id": ADVISER,
            "device_id": device_id,
            "algorithms": ["m.megolm.v1.aes-sha2"],
            "keys": {f"ed25519:{device_id}": public_key_b64(key)},
        }
        device = sign_json(device, ADVISER, key)
        device["signatures"][ADVISER] = {
            f"ed25519:{device_id}": device["signatures"][ADVISER].popitem()[1]
        }
        if device_id in signed:
            device = sign_json(device, ADVISER, keys.self_signing)
        device_keys[device_id] = device
    return {
        "device_keys": {ADVISER: device_keys},
        "master_keys": {ADVISER: body["master_key"]},
        "self_signing_keys": {ADVISER: body["self_signing_key"]},
    }


def test_only_devices_signed_by_the_users_own_identity_are_eligible():
    keys = CrossSigningKeys.generate()
    devices = {"PHONE": Ed25519PrivateKey.generate(), "LAPTOP": Ed25519PrivateKey.generate()}
    trust = device_trust(identity_answer(keys, devices, {"PHONE"}), ADVISER)
    assert set(trust.eligible) == {"PHONE"}
    assert set(trust.excluded) == {"LAPTOP"}
    assert trust.master_key == public_key_b64(keys.master)


def test_a_self_signing_key_not_signed_by_the_master_trusts_nothing():
    keys = CrossSigningKeys.generate()
    devices = {"PHONE": Ed25519PrivateKey.generate()}
    answer = identity_answer(keys, devices, {"PHONE"})
    impostor = CrossSigningKeys.generate()
    answer["master_keys"][ADVISER] = impostor.upload_body(ADVISER)["master_key"]
    trust = device_trust(answer, ADVISER)
    assert trust.eligible == {}


def test_a_device_signature_over_changed_keys_does_not_count():
    keys = CrossSigningKeys.generate()
    devices = {"PHONE": Ed25519PrivateKey.generate()}
    answer = identity_answer(keys, devices, {"PHONE"})
    answer["device_keys"][ADVISER]["PHONE"]["algorithms"].append("evil")
    assert device_trust(answer, ADVISER).eligible == {}


def test_no_identity_means_no_eligible_device():
    answer = {"device_keys": {ADVISER: {}}}
    trust = device_trust(answer, ADVISER)
    assert trust.master_key is None and trust.eligible == {}


def test_a_matrix_state_file_that_does_not_match_the_key_is_refused_clearly(tmp_path):
    from bot.keys.crypto import new_key_material, write_key_file
    from tests.conftest import run_cli, write_config

    config = write_config(
        tmp_path,
        '[handoff]\nsink = "matrix"\n[matrix]\nhomeserver = "http://127.0.0.1:9"\n'
        'user_id = "@bot:hs"\n[[advisers]]\nid = "anna"\nname = "Anna"\n'
        'matrix_user_id = "@anna:hs"\nroom_id = "!room:hs"\n',
    )
    (tmp_path / "data").mkdir(mode=0o700)
    write_key_file(tmp_path / "data" / "secret.key", new_key_material())  # its own key
    (tmp_path / "data" / "matrix-state.sealed").write_bytes(b"\x00\x01not sealed by us")
    result = run_cli(["chat", "--jsonl", "--config", str(config)], stdin="")
    assert result.returncode == 2
    assert "matrix-state.sealed cannot be read with this key file" in result.stderr
    assert "Traceback" not in result.stderr


def test_one_rule_says_when_an_adviser_may_receive():
    keys = CrossSigningKeys.generate()
    devices = {"PHONE": Ed25519PrivateKey.generate()}
    trusted = device_trust(identity_answer(keys, devices, {"PHONE"}), ADVISER)
    unverified = device_trust(identity_answer(keys, devices, set()), ADVISER)
    master = public_key_b64(keys.master)
    assert trust_problem(trusted, None) is None
    assert trust_problem(trusted, master) is None
    assert trust_problem(trusted, "another key") == "adviser-identity-changed"
    assert trust_problem(unverified, master) == "no-eligible-device"
    assert trust_problem(device_trust({}, ADVISER), None) == "adviser-not-cross-signed"
