"""FEP-8b32 / eddsa-jcs-2022 object proofs."""

from __future__ import annotations

import contextlib
import copy
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import jcs
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.jsonld import AS_CONTEXT, DATA_INTEGRITY_V1
from federation.multikey import base58btc_decode, base58btc_encode, multibase_to_ed25519_public
from federation.proofs import ProofError, add_proof, proof_verification_method, verify_proof

# --- W3C Data Integrity EdDSA Cryptosuites v1.0 (REC 2025-05-15), Appendix B.3 -------------

SPEC_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SPEC_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
SPEC_VM = "did:key:" + SPEC_PUBLIC + "#" + SPEC_PUBLIC
SPEC_CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
SPEC_DOC_HASH = "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
SPEC_PROOF_HASH = "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db"
SPEC_SIGNATURE_HEX = (
    "407cd12654b33d718ecbb99179a1506daaa849450bf3fc523cce3e1c96f8b803"
    "51da3f253d725c6f00b07c9e5448d50b3ef78012b9ab54255116d069c6dd2808"
)
SPEC_PROOF_VALUE = "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
SPEC_CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)


def spec_private_key() -> Ed25519PrivateKey:
    data = base58btc_decode(SPEC_SECRET[1:])
    assert data[:2] == b"\x80\x26"
    return Ed25519PrivateKey.from_private_bytes(data[2:])


def test_spec_vector_intermediate_hashes():
    """The JCS + SHA-256 steps give the spec's published hashes."""
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": SPEC_VM,
        "proofPurpose": "assertionMethod",
        "@context": SPEC_CREDENTIAL["@context"],
    }
    assert hashlib.sha256(jcs.canonicalize(SPEC_CREDENTIAL)).hexdigest() == SPEC_DOC_HASH
    assert hashlib.sha256(jcs.canonicalize(options)).hexdigest() == SPEC_PROOF_HASH
    assert base58btc_encode(bytes.fromhex(SPEC_SIGNATURE_HEX)) == SPEC_PROOF_VALUE[1:]


def test_spec_vector_add_proof_is_byte_for_byte_identical():
    signed = add_proof(
        SPEC_CREDENTIAL, private_key=spec_private_key(), verification_method=SPEC_VM, created=SPEC_CREATED
    )
    assert signed["proof"] == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": SPEC_VM,
        "proofPurpose": "assertionMethod",
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "proofValue": SPEC_PROOF_VALUE,
    }


def test_spec_signed_credential_verifies():
    signed = {
        **SPEC_CREDENTIAL,
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "created": "2023-02-24T23:36:38Z",
            "verificationMethod": SPEC_VM,
            "proofPurpose": "assertionMethod",
            "@context": list(SPEC_CREDENTIAL["@context"]),
            "proofValue": SPEC_PROOF_VALUE,
        },
    }
    verify_proof(signed, multibase_to_ed25519_public(SPEC_PUBLIC))
    assert proof_verification_method(signed) == SPEC_VM


# --- ActivityPub round trips ------------------------------------------------------------------

ACTOR = "https://a.example/users/ann"
VM = ACTOR + "#ed25519-key"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
TALLY = {
    "@context": [AS_CONTEXT, DATA_INTEGRITY_V1],
    "id": "https://a.example/tallies/7",
    "type": "Note",
    "attributedTo": ACTOR,
    "content": "yes: 12, no: 3 — «ünïcode» 🗳",
    "to": ["https://b.example/chapters/root"],
    "published": "2025-03-01T11:59:00Z",
    "tag": [{"type": "Mention", "href": "https://b.example/x", "name": "@x"}],
}


def signed_tally() -> dict:
    return add_proof(TALLY, private_key=KEY, verification_method=VM, created=NOW)


def test_round_trip():
    signed = signed_tally()
    verify_proof(signed, KEY.public_key())
    assert proof_verification_method(signed) == VM
    assert signed["proof"]["created"] == "2025-03-01T12:00:00Z"
    assert signed["proof"]["@context"] == TALLY["@context"]


def test_input_is_untouched_and_output_does_not_alias_it():
    before = copy.deepcopy(TALLY)
    signed = signed_tally()
    assert before == TALLY
    signed["@context"].append("https://mutated.example")
    signed["tag"][0]["name"] = "changed"
    assert before == TALLY


def test_created_is_written_in_utc_to_the_second():
    created = datetime(2025, 3, 1, 13, 0, 0, 987654, tzinfo=timezone(timedelta(hours=1)))
    signed = add_proof(TALLY, private_key=KEY, verification_method=VM, created=created)
    assert signed["proof"]["created"] == "2025-03-01T12:00:00Z"
    verify_proof(signed, KEY.public_key())


def test_naive_created_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_proof(TALLY, private_key=KEY, verification_method=VM, created=datetime(2025, 1, 1))


def test_document_with_a_proof_already_is_refused():
    with pytest.raises(ProofError, match="already has a proof"):
        add_proof(signed_tally(), private_key=KEY, verification_method=VM, created=NOW)


def test_document_without_context_round_trips_and_proof_has_no_context():
    signed = add_proof({"a": 1}, private_key=KEY, verification_method=VM, created=NOW)
    assert "@context" not in signed["proof"]
    verify_proof(signed, KEY.public_key())


def test_wrong_key_fails():
    with pytest.raises(ProofError, match="does not verify"):
        verify_proof(signed_tally(), Ed25519PrivateKey.generate().public_key())


def test_other_purpose_is_refused():
    signed = add_proof(TALLY, private_key=KEY, verification_method=VM, created=NOW, proof_purpose="authentication")
    verify_proof(signed, KEY.public_key(), proof_purpose="authentication")
    with pytest.raises(ProofError, match="proofPurpose"):
        verify_proof(signed, KEY.public_key())


def test_expired_proof_is_refused():
    signed = signed_tally()
    assert "expires" not in signed["proof"]
    expiring = copy.deepcopy(signed)
    expiring["proof"]["expires"] = "2025-03-02T00:00:00Z"
    with pytest.raises(ProofError):  # added after signing, so the signature no longer covers it
        verify_proof(expiring, KEY.public_key(), now=NOW)
    with pytest.raises(ProofError, match="expired"):
        verify_proof(expiring, KEY.public_key(), now=NOW + timedelta(days=2))


def test_context_must_be_a_prefix_of_the_documents():
    signed = signed_tally()
    signed["@context"] = [DATA_INTEGRITY_V1, AS_CONTEXT]
    with pytest.raises(ProofError, match="@context"):
        verify_proof(signed, KEY.public_key())


def test_extra_context_after_the_signed_prefix_is_not_covered_by_the_signature():
    # §3.3.2: the unsecured document's @context becomes the proof's, so an appended
    # context does not change the hash: what was signed is what gets verified.
    signed = signed_tally()
    signed["@context"] = [*signed["@context"], {"extra": "https://x.example/extra"}]
    verify_proof(signed, KEY.public_key())


def test_pre_recommendation_proof_without_context_verifies():
    """Signers following earlier drafts hashed the document's @context into the config
    but did not write it into the proof."""
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": VM,
        "proofPurpose": "assertionMethod",
        "created": "2025-03-01T12:00:00Z",
    }
    config = {**options, "@context": TALLY["@context"]}
    data = hashlib.sha256(jcs.canonicalize(config)).digest() + hashlib.sha256(jcs.canonicalize(TALLY)).digest()
    legacy = {**TALLY, "proof": {**options, "proofValue": "z" + base58btc_encode(KEY.sign(data))}}
    verify_proof(legacy, KEY.public_key())
    with pytest.raises(ProofError):
        verify_proof({**legacy, "content": "tampered"}, KEY.public_key())


# --- tampering ----------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(sorted(k for k in TALLY if k != "@context")), value=JSON)
def test_any_change_to_the_document_fails(key, value):
    signed = signed_tally()
    if signed[key] == value:
        return
    signed[key] = value
    with pytest.raises(ProofError):
        verify_proof(signed, KEY.public_key())


@settings(max_examples=100, deadline=None)
@given(key=st.text(max_size=10).filter(lambda k: k not in TALLY and k != "proof"), value=JSON)
def test_any_added_member_fails(key, value):
    signed = signed_tally()
    signed[key] = value
    with pytest.raises(ProofError):
        verify_proof(signed, KEY.public_key())


def test_removing_a_member_fails():
    for key in TALLY:
        signed = signed_tally()
        del signed[key]
        with pytest.raises(ProofError):
            verify_proof(signed, KEY.public_key())


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(["created", "verificationMethod", "proofPurpose", "@context", "extra"]), value=JSON)
def test_any_change_to_the_proof_fails(field, value):
    signed = signed_tally()
    if signed["proof"].get(field) == value:
        return
    signed["proof"][field] = value
    with pytest.raises(ProofError):
        verify_proof(signed, KEY.public_key(), proof_purpose=signed["proof"].get("proofPurpose"))


def test_flipping_any_signature_bit_fails():
    signed = signed_tally()
    signature = base58btc_decode(signed["proof"]["proofValue"][1:])
    for index in range(0, 64 * 8, 37):
        flipped = bytearray(signature)
        flipped[index // 8] ^= 1 << (index % 8)
        signed["proof"]["proofValue"] = "z" + base58btc_encode(bytes(flipped))
        with pytest.raises(ProofError):
            verify_proof(signed, KEY.public_key())


# --- malformed proofs ---------------------------------------------------------------------------


def with_proof(**changes) -> dict:
    signed = signed_tally()
    for field, value in changes.items():
        if value is ...:
            signed["proof"].pop(field, None)
        else:
            signed["proof"][field] = value
    return signed


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "Note"}, "no proof"),
        ({**TALLY, "proof": "z123"}, "must be an object"),
        ({**TALLY, "proof": [{}]}, "proof sets"),
        (with_proof(type=...), "proof type"),
        (with_proof(type="Ed25519Signature2020"), "proof type"),
        (with_proof(cryptosuite="eddsa-rdfc-2022"), "cryptosuite"),
        (with_proof(cryptosuite=...), "cryptosuite"),
        (with_proof(verificationMethod=...), "verificationMethod"),
        (with_proof(verificationMethod=["x"]), "verificationMethod"),
        (with_proof(proofPurpose=...), "proofPurpose"),
        (with_proof(proofValue=...), "proofValue"),
        (with_proof(proofValue="u" + "A" * 86), "start with 'z'"),
        (with_proof(proofValue="z0OIl"), "base58btc"),
        (with_proof(proofValue="z" + base58btc_encode(b"\1" * 63)), "64"),
        (with_proof(created="yesterday"), "created"),
        (with_proof(created="2025-13-45T99:00:00Z"), "created"),
        (with_proof(expires=12), "expires"),
        (with_proof(**{"@context": 5}), "@context"),
    ],
)
def test_malformed_proofs_say_what_is_wrong(document, message):
    with pytest.raises(ProofError, match=message):
        verify_proof(document, KEY.public_key())
    with pytest.raises(ProofError, match=message):
        proof_verification_method(document)


def test_non_object_document():
    with pytest.raises(ProofError, match="not a JSON object"):
        verify_proof(["x"], KEY.public_key())  # type: ignore[arg-type]


PROOF_FIELDS = [
    "type",
    "cryptosuite",
    "created",
    "expires",
    "verificationMethod",
    "proofPurpose",
    "proofValue",
    "@context",
]


@settings(max_examples=400, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(PROOF_FIELDS), JSON | st.just(...) | st.text(alphabet="z123456789ABCabc", max_size=100)
    )
)
def test_fuzzed_proofs_raise_only_proof_error(changes):
    document = with_proof(**changes)
    try:
        verify_proof(document, KEY.public_key())
    except ProofError:
        pass
    else:
        # Only an unchanged proof verifies -- or one whose @context was dropped, which
        # the pre-Recommendation fallback hashes back to exactly what was signed.
        original = signed_tally()["proof"]
        assert all(original.get(f) == document["proof"].get(f) for f in PROOF_FIELDS if f != "@context")
        assert document["proof"].get("@context") in (None, original["@context"])
    with contextlib.suppress(ProofError):
        proof_verification_method(document)


WILD = st.recursive(
    JSON_SCALARS | st.integers() | st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(document=WILD, proof=WILD)
def test_fuzzed_documents_raise_only_proof_error(document, proof):
    if isinstance(document, dict):
        document = {**document, "proof": proof}
    with pytest.raises(ProofError):
        verify_proof(document, KEY.public_key())
