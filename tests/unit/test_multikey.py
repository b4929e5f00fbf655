"""FEP-521a Multikey encoding and lookup."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from federation.multikey import (
    base58btc_decode,
    base58btc_encode,
    ed25519_public_to_multibase,
    find_multikey,
    multibase_to_ed25519_public,
    multikey_document,
)

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# W3C vc-di-eddsa v1.0 (Recommendation), Appendix B.3 key pair.
SPEC_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SPEC_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"

ACTOR = "https://a.example/users/ann"
KEY_ID = ACTOR + "#ed25519-key"


def raw(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def spec_private_key() -> Ed25519PrivateKey:
    data = base58btc_decode(SPEC_SECRET[1:])
    assert data[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return Ed25519PrivateKey.from_private_bytes(data[2:])


def test_spec_key_pair_encodes_to_the_published_public_key():
    assert ed25519_public_to_multibase(spec_private_key().public_key()) == SPEC_PUBLIC


def test_spec_public_key_decodes_to_the_same_key():
    decoded = multibase_to_ed25519_public(SPEC_PUBLIC)
    assert raw(decoded) == raw(spec_private_key().public_key())


def test_round_trip_of_fresh_keys():
    for _ in range(20):
        key = Ed25519PrivateKey.generate().public_key()
        text = ed25519_public_to_multibase(key)
        assert text.startswith("z6Mk")
        assert raw(multibase_to_ed25519_public(text)) == raw(key)


@given(st.binary(max_size=80))
def test_base58_round_trip_keeps_leading_zero_bytes(data):
    assert base58btc_decode(base58btc_encode(data)) == data


def test_base58_known_values():
    assert base58btc_encode(b"") == ""
    assert base58btc_encode(b"\0\0\x01") == "112"
    assert base58btc_encode(b"hello world") == "StV1DL6CwTryKyV"
    assert base58btc_decode("StV1DL6CwTryKyV") == b"hello world"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "start with 'z'"),
        ("f" + "ed01" + "00" * 32, "start with 'z'"),
        ("z0OIl", "not in the base58btc alphabet"),
        ("z" + base58btc_encode(b"\x80\x26" + b"\x01" * 32), "expected ed01"),
        ("z" + base58btc_encode(b"\xed\x01" + b"\x01" * 31), "32 bytes"),
        ("z" + base58btc_encode(b"\xed\x01" + b"\x01" * 33), "32 bytes"),
        ("z", "header none"),
    ],
)
def test_bad_multibase_values_are_refused_with_a_reason(value, message):
    with pytest.raises(ValueError, match=message):
        multibase_to_ed25519_public(value)


def test_non_string_is_refused():
    with pytest.raises(ValueError, match="must be a string"):
        multibase_to_ed25519_public(None)  # type: ignore[arg-type]


@given(st.one_of(st.text(max_size=60), st.builds(lambda tail: "z6Mk" + tail, st.text(alphabet=BASE58, max_size=44))))
def test_arbitrary_text_is_a_key_or_a_value_error(text):
    """Either a ValueError, or the one key that this exact text encodes (it encodes back the same)."""
    try:
        key = multibase_to_ed25519_public(text)
    except ValueError as error:
        assert str(error)
        return
    assert ed25519_public_to_multibase(key) == text


def test_text_that_is_not_a_key_is_refused():
    good = ed25519_public_to_multibase(spec_private_key().public_key())
    for text in (
        "",
        "z",
        "f" + good[1:],
        good[:-1],
        good + "1",
        "z" + base58btc_encode(b"\xed\x01" + b"\0" * 31),
        "z" + base58btc_encode(b"\xec\x01" + b"\0" * 32),
        "z0OIl",
    ):
        with pytest.raises(ValueError):
            multibase_to_ed25519_public(text)


def test_multikey_document_shape():
    key = spec_private_key().public_key()
    assert multikey_document(key_id=KEY_ID, controller=ACTOR, public_key=key) == {
        "id": KEY_ID,
        "type": "Multikey",
        "controller": ACTOR,
        "publicKeyMultibase": SPEC_PUBLIC,
    }


def actor_with(methods) -> dict:
    return {"id": ACTOR, "type": "Person", "assertionMethod": methods}


def test_find_multikey_in_a_list_and_as_a_single_object():
    key = Ed25519PrivateKey.generate().public_key()
    other = Ed25519PrivateKey.generate().public_key()
    method = multikey_document(key_id=KEY_ID, controller=ACTOR, public_key=key)
    decoy = multikey_document(key_id=ACTOR + "#other", controller=ACTOR, public_key=other)
    assert raw(find_multikey(actor_with([decoy, "https://x.example/ref", method]), KEY_ID)) == raw(key)
    assert raw(find_multikey(actor_with(method), KEY_ID)) == raw(key)


def test_find_multikey_misses():
    key = Ed25519PrivateKey.generate().public_key()
    method = multikey_document(key_id=KEY_ID, controller=ACTOR, public_key=key)
    assert find_multikey(actor_with([method]), ACTOR + "#nope") is None
    assert find_multikey({"id": ACTOR}, KEY_ID) is None
    assert find_multikey(actor_with("not-a-list"), KEY_ID) is None
    assert find_multikey(actor_with([{**method, "type": "JsonWebKey"}]), KEY_ID) is None
    assert find_multikey("not an actor", KEY_ID) is None  # type: ignore[arg-type]


def test_find_multikey_requires_the_actor_to_be_the_controller():
    key = Ed25519PrivateKey.generate().public_key()
    foreign = multikey_document(key_id=KEY_ID, controller="https://b.example/users/bob", public_key=key)
    assert find_multikey(actor_with([foreign]), KEY_ID) is None
    assert find_multikey({"assertionMethod": [foreign]}, KEY_ID) is None


def test_find_multikey_reports_a_malformed_matching_key():
    method = {"id": KEY_ID, "type": "Multikey", "controller": ACTOR, "publicKeyMultibase": "zzz"}
    with pytest.raises(ValueError):
        find_multikey(actor_with([method]), KEY_ID)
