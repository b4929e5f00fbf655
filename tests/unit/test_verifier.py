"""The signature helper's two halves without a process: the child's frame loop, and the parent
checking in-process when the helper is switched off."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from federation.signatures import SignatureError, read_signature_claim, sign_request
from federation.verifier import SignatureVerifier
from federation.verifier_process import read_frame, serve, write_frame

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
URL = "https://chapter.example/inbox"
KEY_ID = "https://remote.example/users/alice#main-key"


def pem_of(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def claim_signed_by(key, body: bytes = b'{"type": "Follow"}'):
    headers = sign_request("POST", URL, body, key_id=KEY_ID, private_key=key, now=NOW,
                           headers={"Content-Type": "application/activity+json"})
    return read_signature_claim("POST", "/inbox", headers, body, now=NOW)


@pytest.fixture(scope="module")
def alice_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_the_child_answers_each_claim_in_order(alice_key):
    mallory = ed25519.Ed25519PrivateKey.generate()
    batch = [(claim_signed_by(alice_key), pem_of(alice_key)),          # good
             (claim_signed_by(mallory), pem_of(alice_key)),            # signed by another key
             (claim_signed_by(mallory), pem_of(mallory)),              # good, Ed25519
             (claim_signed_by(alice_key), "not a PEM at all")]         # an unusable key
    requests, answers = io.BytesIO(), io.BytesIO()
    write_frame(requests, batch)
    write_frame(requests, batch[:1])
    requests.seek(0)
    serve(requests, answers)  # returns at the end of its input, as when the node closes the pipe
    answers.seek(0)
    first, second = read_frame(answers), read_frame(answers)
    assert first[0] is None and first[2] is None
    assert "does not fit the RSA key" in first[1] or "does not verify" in first[1]
    assert "not a valid PEM" in first[3]
    assert second == [None]
    assert read_frame(answers) is None


async def test_switched_off_it_checks_in_the_node(alice_key):
    verifier = SignatureVerifier(enabled=False)
    await verifier.start()
    try:
        await verifier.verify(claim_signed_by(alice_key), pem_of(alice_key))
        with pytest.raises(SignatureError, match="does not verify"):
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            await verifier.verify(claim_signed_by(other), pem_of(alice_key))
    finally:
        await verifier.stop()
    assert verifier.checked_here == 2 and verifier.batches == 0
