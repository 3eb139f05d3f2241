"""The small checks of the trust chain: key usages and owners, canonical JSON's limits,
and malformed server answers named as such instead of crashing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.matrix.identity import CrossSigningKeys
from bot.matrix.signing import canonical_json, sign_json
from bot.matrix.trust import device_trust, trust_problem
from tests.test_matrix_rules import ADVISER, identity_answer


def answer_with(master_usage: list[str] | None = None, ssk_user: str | None = None) -> dict:
    """A well-signed answer whose master usage or SSK owner is changed and signed again."""
    keys = CrossSigningKeys.generate()
    answer = identity_answer(keys, {"PHONE": Ed25519PrivateKey.generate()}, {"PHONE"})
    if master_usage is not None:
        answer["master_keys"][ADVISER]["usage"] = master_usage
    if ssk_user is not None:
        ssk = {k: v for k, v in answer["self_signing_keys"][ADVISER].items() if k != "signatures"}
        ssk["user_id"] = ssk_user
        answer["self_signing_keys"][ADVISER] = sign_json(ssk, ADVISER, keys.master)
    return answer


def test_a_master_key_not_made_for_master_use_trusts_nothing():
    assert device_trust(answer_with(), ADVISER).eligible.keys() == {"PHONE"}
    trust = device_trust(answer_with(master_usage=["user_signing"]), ADVISER)
    assert trust.eligible == {}
    assert trust_problem(trust, None) == "keys-answer-malformed"


def test_a_self_signing_key_of_someone_else_trusts_nothing():
    trust = device_trust(answer_with(ssk_user="@someone.else:evil.org"), ADVISER)
    assert trust.eligible == {}
    assert trust_problem(trust, None) == "no-eligible-device"


@pytest.mark.parametrize("value", [1.0, -0.0, 2**53, -(2**53), {"a": [1, 2.5]}])
def test_canonical_json_refuses_floats_and_big_integers(value: object):
    with pytest.raises(ValueError):
        canonical_json({"c": value})
    assert canonical_json({"c": [2**53 - 1, -(2**53 - 1), True, None]}) == (
        b'{"c":[9007199254740991,-9007199254740991,true,null]}'
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: a["device_keys"][ADVISER]["PHONE"].__setitem__("signatures", []),
        lambda a: a["device_keys"][ADVISER].__setitem__("PHONE", ["not", "an", "object"]),
        lambda a: a["master_keys"].__setitem__(ADVISER, "a string"),
        lambda a: a["master_keys"][ADVISER].__setitem__("keys", []),
        lambda a: a.__setitem__("device_keys", []),
        lambda a: a["self_signing_keys"].__setitem__(ADVISER, 7),
    ],
)
def test_a_malformed_answer_is_a_named_problem_not_a_crash(mangle):
    answer = answer_with()
    mangle(answer)
    trust = device_trust(answer, ADVISER)
    assert trust.eligible == {}
    assert trust_problem(trust, None) in ("keys-answer-malformed", "no-eligible-device")
    assert device_trust([], ADVISER).malformed  # type: ignore[arg-type]
