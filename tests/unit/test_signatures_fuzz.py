"""Hypothesis: whatever headers and bodies arrive, the outcome is the right one.

read_signature_claim raises SignatureError (with a reason) or returns a claim, and nothing else;
a random request never verifies, a signed one whose signed parts were changed never verifies,
and one left as it was always does.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.signatures import SignatureClaim, SignatureError, read_signature_claim, sign_request, verify_claim

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY = ed25519.Ed25519PrivateKey.generate()  # fast to sign with, so examples stay cheap
EXAMPLES = int(os.environ.get("SIGNATURE_FUZZ_EXAMPLES", "400"))  # raise it for a long fuzzing run
FRESH_SECONDS = 3600  # read_signature_claim's max_skew: an hour around Date or created
COVERED = {"cavage": ("Date", "Host", "Digest"), "rfc9421": ("Host", "Content-Digest")}  # what each scheme signs
NAMES = ["Signature", "Signature-Input", "Authorization", "Date", "Host", "Digest", "Content-Digest", "X-Other"]

fragments = st.sampled_from(
    [
        'keyId="k"',
        "algorithm=hs2019",
        'algorithm="rsa-sha256"',
        'headers="(request-target) host date digest"',
        'headers="(request-target) (created) host digest"',
        'signature="AAAA"',
        "created=1740830400",
        "expires=1",
        'sig1=("@method" "@target-uri" "content-digest")',
        ";created=1740830400",
        ';keyid="k"',
        ';alg="ed25519"',
        "sig1=:AAAA:",
        "SHA-256=",
        "sha-256=:",
        "Signature ",
        ",",
        "=",
        '"',
        "(",
        ")",
        ":",
        ";",
        " ",
        "\\",
        "Sat, 01 Mar 2025 12:00:00 GMT",
        "chapter.example",
        "\x00",
        "é",
        "\udcff",
        "\ud800",
    ]
)
header_values = st.one_of(st.text(max_size=80), st.lists(fragments, max_size=12).map("".join))


def _verifies(method, target, headers, body) -> bool:
    """Whether the request verifies with KEY; any refusal must be a SignatureError with a reason."""
    try:
        claim = read_signature_claim(method, target, headers, body, now=NOW)
    except SignatureError as e:
        assert str(e)
        return False
    assert isinstance(claim, SignatureClaim)
    try:
        verify_claim(claim, KEY.public_key())
    except SignatureError as e:
        assert str(e)
        return False
    return True


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "put", "PATCH", "", "é"]),
    target=st.one_of(st.just("/inbox"), st.text(max_size=30)),
    headers=st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=10)), header_values, max_size=8),
    body=st.one_of(st.none(), st.binary(max_size=64)),
)
def test_random_requests_only_raise_signature_error(method, target, headers, body):
    assert not _verifies(method, target, headers, body)  # nothing made up verifies


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(
    scheme=st.sampled_from(["cavage", "rfc9421"]),
    name=st.sampled_from(["Signature", "Signature-Input", "Date", "Host", "Digest", "Content-Digest"]),
    pos=st.integers(min_value=0, max_value=400),
    cut=st.integers(min_value=0, max_value=5),
    insert=st.one_of(st.text(max_size=5), fragments),
    body=st.sampled_from([b'{"a":1}', b"", None]),
    skew=st.integers(min_value=-7200, max_value=7200),
)
def test_mutated_signed_requests_only_raise_signature_error(scheme, name, pos, cut, insert, body, skew):
    headers = sign_request(
        "POST",
        "https://chapter.example/inbox",
        b'{"a":1}',
        key_id="k",
        private_key=KEY,
        scheme=scheme,
        now=NOW + timedelta(seconds=skew),
    )
    signed = dict(headers)
    if name in headers:
        v = headers[name]
        p = pos % (len(v) + 1)
        headers[name] = v[:p] + insert + v[p + cut :]
    verified = _verifies("POST", "/inbox", headers, body)
    fresh = abs(skew) <= FRESH_SECONDS
    if verified:  # only the signature's own syntax may change (spacing); never a signed value, the body or the time
        assert body == b'{"a":1}' and fresh, (name, headers[name], body, skew)
        # (a header's value is read without its surrounding whitespace, as HTTP reads it)
        assert all(headers[h].strip() == signed[h].strip() for h in COVERED[scheme]), (name, headers[name])
    elif headers == signed and body == b'{"a":1}' and abs(skew) < FRESH_SECONDS - 60:
        raise AssertionError(f"an untouched, fresh {scheme} request did not verify (skew {skew} s)")


def test_unmutated_signed_request_verifies():
    for scheme in ("cavage", "rfc9421"):
        headers = sign_request(
            "POST", "https://chapter.example/inbox", b'{"a":1}', key_id="k", private_key=KEY, scheme=scheme, now=NOW
        )
        verify_claim(read_signature_claim("POST", "/inbox", headers, b'{"a":1}', now=NOW), KEY.public_key())
