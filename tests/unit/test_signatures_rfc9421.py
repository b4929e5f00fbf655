"""RFC 9421 byte for byte against the RFC's Appendix B.2.6, plus digests and the structured-field parser."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from federation import rfc9421
from federation.digests import (
    DigestError,
    check_content_digest,
    check_digest,
    content_digest_header,
    digest_header,
)
from federation.signatures import (
    SignatureClaim,
    SignatureError,
    load_private_key,
    load_public_key,
    read_signature_claim,
    verify_claim,
)

# RFC 9421 Appendix B.1.4 (test-key-ed25519)
ED25519_PRIVATE = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
ED25519_PUBLIC = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""
# RFC 9421 Appendix B.2: the test request
B2_TARGET = "/foo?param=Value&Pet=dog"
B2_BODY = b'{"hello": "world"}'
B2_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    "Content-Length": "18",
}
# B.2.6
B26_INPUT = 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"'
B26_SIGNATURE = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
B26_BASE = (
    b'"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    b'"@method": POST\n'
    b'"@path": /foo\n'
    b'"@authority": example.com\n'
    b'"content-type": application/json\n'
    b'"content-length": 18\n'
    b'"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    b';created=1618884473;keyid="test-key-ed25519"'
)


def _lookup(name: str) -> str | None:
    return {k.lower(): v for k, v in B2_HEADERS.items()}.get(name)


def test_b26_signature_base_and_signature_byte_for_byte():
    parsed = rfc9421.parse_signature_fields(B26_INPUT, B26_SIGNATURE)
    assert parsed.label == "sig-b26"
    base = rfc9421.build_signature_base(
        parsed.components,
        parsed.params_line,
        method="POST",
        scheme="https",
        authority="example.com",
        target=B2_TARGET,
        header=_lookup,
    )
    assert base == B26_BASE
    # Ed25519 is deterministic: our signature over our base is the RFC's, byte for byte
    ours = load_private_key(ED25519_PRIVATE).sign(base)
    assert rfc9421.format_signature_fields(
        "sig-b26", [str(c.value) for c in parsed.components], parsed.params, ours
    ) == (B26_INPUT, B26_SIGNATURE)
    claim = SignatureClaim(
        "rfc9421", "test-key-ed25519", "", (base,), parsed.signature, datetime.fromtimestamp(1618884473, UTC), ()
    )
    verify_claim(claim, load_public_key(ED25519_PUBLIC))


def test_b26_request_refused_by_policy_with_reason():
    # B.2.6 covers neither @target-uri nor content-digest: Mastodon (and we) require both on an inbox POST
    headers = {**B2_HEADERS, "Signature-Input": B26_INPUT, "Signature": B26_SIGNATURE}
    with pytest.raises(SignatureError, match="@method and @target-uri"):
        read_signature_claim("POST", B2_TARGET, headers, B2_BODY, now=datetime.fromtimestamp(1618884473, UTC))


def test_b2_content_digest_sha512_matches_rfc():
    check_content_digest(B2_HEADERS["Content-Digest"], B2_BODY)
    assert content_digest_header(B2_BODY, "sha-512") == B2_HEADERS["Content-Digest"]


# ---------------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------------


def _b64(h) -> str:
    return base64.b64encode(h.digest()).decode()


def test_digest_variants():
    body = b"hello"
    s256, s512 = _b64(hashlib.sha256(body)), _b64(hashlib.sha512(body))
    assert digest_header(body) == f"SHA-256={s256}"
    check_digest(f"SHA-256={s256}", body)
    check_digest(f"sha-256={s256}", body)
    check_digest(f"SHA-512={s512}", body)
    check_digest(f"MD5=abc, SHA-256={s256}", body)
    check_digest(f"sha-256={s256},sha-512={s512}", body)
    with pytest.raises(DigestError, match="does not match the body"):
        check_digest(f"SHA-256={s512}", body)
    with pytest.raises(DigestError, match="does not match the body"):
        check_digest(f"SHA-256={s256}, SHA-512={s256}", body)
    with pytest.raises(DigestError, match="not valid base64"):
        check_digest("SHA-256=***", body)
    with pytest.raises(DigestError, match="has no '='"):
        check_digest("SHA-256", body)
    with pytest.raises(DigestError, match="offered: sha-1"):
        check_digest("SHA-1=abc", body)


def test_content_digest_variants():
    body = b"hello"
    check_content_digest(content_digest_header(body), body)
    check_content_digest(f"sha-512=:{_b64(hashlib.sha512(body))}:, md5=:AAAA:", body)
    with pytest.raises(DigestError, match="does not match"):
        check_content_digest(content_digest_header(b"other"), body)
    with pytest.raises(DigestError, match="not a byte sequence"):
        check_content_digest('sha-256="abc"', body)
    with pytest.raises(DigestError, match="not a valid structured-field"):
        check_content_digest("SHA-256=:abc:", body)
    with pytest.raises(DigestError, match="offered: md5"):
        check_content_digest("md5=:AAAA:", body)


# ---------------------------------------------------------------------------------------------
# Structured fields
# ---------------------------------------------------------------------------------------------


def test_parse_dictionary_items_and_inner_lists():
    d = rfc9421.parse_dictionary('a=1, b=?0;x, c=("x" "y";k=tok);p=-1.5, d, e=:aGk=:, f=tok/x:y, g="q\\"s"')
    assert d["a"] == rfc9421.Item(1)
    assert d["b"] == rfc9421.Item(False, {"x": True})
    assert d["c"] == rfc9421.InnerList([rfc9421.Item("x"), rfc9421.Item("y", {"k": "tok"})], {"p": Decimal("-1.5")})
    assert d["d"] == rfc9421.Item(True)
    assert d["e"] == rfc9421.Item(b"hi")
    assert d["f"].value == "tok/x:y" and isinstance(d["f"].value, rfc9421.Token)
    assert d["g"].value == 'q"s'
    assert rfc9421.serialize_inner_list(d["c"]) == '("x" "y";k=tok);p=-1.5'


@pytest.mark.parametrize(
    "bad", ["A=1", "a=1,", "a=(1", 'a="x', "a=?2", "a=1 b=2", "a=1234567890123456", "a=1.2345", 'a="\x01"']
)
def test_parse_dictionary_rejects(bad):
    with pytest.raises(rfc9421.StructuredFieldError):
        rfc9421.parse_dictionary(bad)


def test_component_parameters_and_unknown_derived_refused():
    for inp in (
        's=("content-digest";sf);created=1;keyid="k"',
        's=("@query-param";name="x");created=1;keyid="k"',
        's=("@status");created=1;keyid="k"',
        's=("date" "date");created=1;keyid="k"',
    ):
        parsed = rfc9421.parse_signature_fields(inp, "s=:AAAA:")
        with pytest.raises(rfc9421.ComponentError):
            rfc9421.build_signature_base(
                parsed.components,
                parsed.params_line,
                method="GET",
                scheme="https",
                authority="a",
                target="/",
                header=_lookup,
            )


def test_derived_components():
    parsed = rfc9421.parse_signature_fields(
        's=("@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" "@query");created=1', "s=:AAAA:"
    )
    base = rfc9421.build_signature_base(
        parsed.components,
        parsed.params_line,
        method="GET",
        scheme="https",
        authority="www.example.com",
        target="/path?param=value",
        header=_lookup,
    )
    assert base.decode().split("\n")[:-1] == [
        '"@method": GET',
        '"@target-uri": https://www.example.com/path?param=value',
        '"@authority": www.example.com',
        '"@scheme": https',
        '"@request-target": /path?param=value',
        '"@path": /path',
        '"@query": ?param=value',
    ]
