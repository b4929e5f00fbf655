"""HTTP signatures: round trips, interop with the independent ``httpsig`` package, every refusal."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import httpsig
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from multidict import CIMultiDict, CIMultiDictProxy

from federation.signatures import (
    SignatureClaim,
    SignatureError,
    load_private_key,
    load_public_key,
    read_signature_claim,
    sign_request,
    verify_claim,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://remote.example/users/alice#main-key"
URL = "https://chapter.example/inbox"
BODY = b'{"type":"Follow","actor":"https://remote.example/users/alice"}'

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def pem_private(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pem_public(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def signed(scheme="cavage", *, body=BODY, method="POST", url=URL, key=RSA_KEY, now=NOW, headers=None):
    return sign_request(method, url, body, key_id=KEY_ID, private_key=key, scheme=scheme, now=now, headers=headers)


def claim_for(headers, *, body=BODY, method="POST", target="/inbox", now=NOW, **kw) -> SignatureClaim:
    return read_signature_claim(method, target, headers, body, now=now, **kw)


def refused(match: str, headers, **kw) -> SignatureError:
    with pytest.raises(SignatureError, match=match) as info:
        verify_claim(claim_for(headers, **kw), RSA_KEY.public_key())
    return info.value


def httpsig_sign(
    headers: dict,
    *,
    path: str,
    method="POST",
    covered=("(request-target)", "host", "date", "digest"),
    algorithm="rsa-sha256",
    sign_header="signature",
) -> dict:
    signer = httpsig.HeaderSigner(
        KEY_ID, pem_private(RSA_KEY), algorithm=algorithm, headers=list(covered), sign_header=sign_header
    )
    return {k.title(): v for k, v in signer.sign(headers, method=method, path=path).items()}


def mastodon_headers(body=BODY, digest_name="SHA-256", date=NOW) -> dict:
    return {
        "Host": "chapter.example",
        "Date": date.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Digest": f"{digest_name}=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Content-Type": "application/activity+json",
    }


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("key", [RSA_KEY, ED_KEY], ids=["rsa", "ed25519"])
def test_round_trip_post(scheme, key):
    headers = signed(scheme, key=key)
    claim = claim_for(headers)
    assert claim.scheme == scheme
    assert claim.key_id == KEY_ID
    assert claim.created == NOW
    verify_claim(claim, key.public_key())
    verify_claim(claim, pem_public(key))  # PEM text goes through the cache


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
def test_round_trip_get_without_body(scheme):
    headers = signed(scheme, body=None, method="GET", url="https://chapter.example/users/c?page=2")
    assert "Digest" not in headers and "Content-Digest" not in headers
    claim = claim_for(headers, body=None, method="GET", target="/users/c?page=2")
    verify_claim(claim, RSA_KEY.public_key())


def test_cavage_headers_are_what_mastodon_sends():
    headers = signed("cavage", headers={"Content-Type": "application/activity+json"})
    assert headers["Host"] == "chapter.example"
    assert headers["Date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    assert headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert headers["Content-Type"] == "application/activity+json"
    sig = headers["Signature"]
    assert sig.startswith(
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="'
    )
    assert 'algorithm="hs2019"' in signed("cavage", key=ED_KEY)["Signature"]


def test_rfc9421_fields_shape():
    headers = signed("rfc9421")
    assert headers["Content-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"
    assert headers["Signature-Input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW.timestamp())};'
        f'keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )
    assert headers["Signature"].startswith("sig1=:") and headers["Signature"].endswith(":")
    claim = claim_for(headers)
    assert claim.covered == ("@method", "@target-uri", "content-digest")
    assert claim.signing_bases[0].startswith(b'"@method": POST\n"@target-uri": https://chapter.example/inbox\n')


def test_rfc9421_over_plain_http_on_loopback():
    headers = signed("rfc9421", url="http://127.0.0.1:8123/inbox")
    assert headers["Host"] == "127.0.0.1:8123"
    verify_claim(claim_for(headers), RSA_KEY.public_key())


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://a.example:443/x", "a.example"),
        ("http://a.example:80/x", "a.example"),
        ("https://a.example:8443/x", "a.example:8443"),
        ("http://127.0.0.1:8080/inbox", "127.0.0.1:8080"),
        ("http://[::1]:8080/inbox", "[::1]:8080"),
        ("https://A.Example/x", "a.example"),
    ],
)
def test_host_includes_only_non_default_port(url, host):
    assert signed(url=url)["Host"] == host


def test_signing_replaces_stale_signature_headers():
    old = signed("cavage")
    new = signed("rfc9421", headers=old)
    assert "Digest" not in new and "Signature-Input" in new
    verify_claim(claim_for(new), RSA_KEY.public_key())


def test_aiohttp_multidict_headers_and_lowercase_method():
    headers = CIMultiDictProxy(CIMultiDict(signed("cavage")))
    verify_claim(claim_for(headers, method="post"), RSA_KEY.public_key())


def test_plain_dict_headers_any_case():
    headers = {k.upper(): v for k, v in signed("cavage").items()}
    verify_claim(claim_for(headers), RSA_KEY.public_key())


def test_sign_with_pem_text_and_naive_now():
    headers = sign_request(
        "POST", URL, BODY, key_id=KEY_ID, private_key=pem_private(RSA_KEY), now=NOW.replace(tzinfo=None)
    )
    verify_claim(claim_for(headers), RSA_KEY.public_key())


def test_sign_refuses_relative_url_and_unknown_scheme():
    with pytest.raises(ValueError):
        sign_request("GET", "/inbox", None, key_id=KEY_ID, private_key=RSA_KEY, now=NOW)
    with pytest.raises(ValueError):
        sign_request("GET", URL, None, key_id=KEY_ID, private_key=RSA_KEY, now=NOW, scheme="bogus")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sign_request("GET", URL, None, key_id=KEY_ID, private_key=ec.generate_private_key(ec.SECP256R1()), now=NOW)


# ---------------------------------------------------------------------------------------------
# Interop with the httpsig package (an independent cavage implementation)
# ---------------------------------------------------------------------------------------------


def test_verifies_request_signed_by_httpsig_package():
    headers = httpsig_sign(mastodon_headers(), path="/inbox")
    claim = claim_for(headers)
    assert claim.algorithm == "rsa-sha256"
    verify_claim(claim, RSA_KEY.public_key())


def test_httpsig_package_verifies_our_signature():
    headers = signed("cavage")
    verifier = httpsig.HeaderVerifier(
        headers,
        pem_public(RSA_KEY),
        required_headers=["(request-target)", "host", "date", "digest"],
        method="POST",
        path="/inbox",
        sign_header="signature",
    )
    assert verifier.verify()


def test_authorization_signature_header_accepted():
    headers = httpsig_sign(mastodon_headers(), path="/inbox", sign_header="authorization")
    assert headers["Authorization"].startswith("Signature ")
    verify_claim(claim_for(headers), RSA_KEY.public_key())


def test_bovine_lowercase_digest_accepted():
    headers = httpsig_sign(mastodon_headers(digest_name="sha-256"), path="/inbox")
    verify_claim(claim_for(headers), RSA_KEY.public_key())


def test_query_string_tolerated_both_ways():
    # signed with the query: verified against the full target
    with_query = httpsig_sign(mastodon_headers(), path="/inbox?page=1")
    verify_claim(claim_for(with_query, target="/inbox?page=1"), RSA_KEY.public_key())
    # older Mastodons sign the bare path even when a query was sent
    bare = httpsig_sign(mastodon_headers(), path="/inbox")
    claim = claim_for(bare, target="/inbox?page=1")
    assert len(claim.signing_bases) == 2
    verify_claim(claim, RSA_KEY.public_key())


def test_hs2019_with_created_accepted():
    headers = mastodon_headers()
    covered = "(request-target) (created) host digest"
    text = "\n".join(
        [
            "(request-target): post /inbox",
            f"(created): {int(NOW.timestamp())}",
            "host: chapter.example",
            f"digest: {headers['Digest']}",
        ]
    ).encode()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    sig = base64.b64encode(RSA_KEY.sign(text, padding.PKCS1v15(), hashes.SHA256())).decode()
    headers["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="hs2019",created={int(NOW.timestamp())},headers="{covered}",signature="{sig}"'
    )
    del headers["Date"]
    claim = claim_for(headers)
    assert claim.created == NOW
    verify_claim(claim, RSA_KEY.public_key())


# ---------------------------------------------------------------------------------------------
# Refusals: each raises SignatureError with a useful message
# ---------------------------------------------------------------------------------------------


def test_unsigned_request():
    refused("not signed", {"Host": "chapter.example"})


@pytest.mark.parametrize(
    ("covered", "message"),
    [
        (("host", "date", "digest"), r"\(request-target\)"),
        (("(request-target)", "date", "digest"), "Host"),
        (("(request-target)", "host", "digest"), r"Date header or \(created\)"),
        (("(request-target)", "host", "date"), "POST signature must cover the Digest"),
    ],
)
def test_cavage_missing_covered_headers(covered, message):
    refused(message, httpsig_sign(mastodon_headers(), path="/inbox", covered=covered))


def test_signed_header_missing_from_request():
    headers = httpsig_sign(
        {**mastodon_headers(), "X-Extra": "1"},
        path="/inbox",
        covered=("(request-target)", "host", "date", "digest", "x-extra"),
    )
    del headers["X-Extra"]
    refused("'x-extra' is missing", headers)


def test_digest_signed_but_header_missing():
    headers = signed("cavage")
    del headers["Digest"]
    refused("digest header is signed but missing", headers)


def test_digest_mismatch():
    headers = signed("cavage")
    err = refused("Digest header does not match the body: computed SHA-256=", headers, body=BODY + b" ")
    assert err.key_id == KEY_ID


def test_content_digest_mismatch():
    refused("Content-Digest header does not match the body", signed("rfc9421"), body=b"{}")


def test_digest_with_only_unknown_algorithm():
    headers = signed("cavage")
    headers["Digest"] = "MD5=Zm9v"
    refused("no SHA-256 or SHA-512 value \\(offered: md5\\)", headers)


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
def test_stale_signature(scheme):
    refused("s old, more than the 3600 s allowed", signed(scheme, now=NOW - timedelta(hours=2)))


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
def test_future_signature(scheme):
    refused("in the future", signed(scheme, now=NOW + timedelta(hours=2)))


def test_max_skew_is_configurable():
    headers = signed(now=NOW - timedelta(minutes=10))
    verify_claim(claim_for(headers), RSA_KEY.public_key())
    refused("more than the 300 s allowed", headers, max_skew=timedelta(minutes=5))


def test_unparseable_date():
    headers = signed("cavage")
    headers["Date"] = "yesterday-ish"
    refused("not an HTTP date", headers)


def test_expired_cavage_signature():
    headers = mastodon_headers()
    headers = httpsig_sign(headers, path="/inbox")
    expires = int((NOW - timedelta(minutes=30)).timestamp())
    headers["Signature"] = headers["Signature"].replace("headers=", f"expires={expires},headers=")
    refused("expired 1800 s ago", headers)


def test_expired_rfc9421_signature():
    headers = signed("rfc9421")
    expires = int((NOW - timedelta(minutes=30)).timestamp())
    headers["Signature-Input"] += f";expires={expires}"
    refused("expired", headers)


def test_wrong_key():
    for scheme in ("cavage", "rfc9421"):
        claim = claim_for(signed(scheme))
        with pytest.raises(SignatureError, match=f"signature does not verify with key {KEY_ID}") as info:
            verify_claim(claim, OTHER_RSA_KEY.public_key())
        assert info.value.key_id == KEY_ID


def test_wrong_key_type():
    claim = claim_for(signed("cavage"))  # rsa-sha256
    with pytest.raises(SignatureError, match="does not fit the Ed25519 key"):
        verify_claim(claim, ED_KEY.public_key())
    claim = claim_for(signed("rfc9421", key=ED_KEY))  # alg=ed25519
    with pytest.raises(SignatureError, match="does not fit the RSA key"):
        verify_claim(claim, RSA_KEY.public_key())
    with pytest.raises(SignatureError, match="only RSA and Ed25519"):
        verify_claim(claim, ec.generate_private_key(ec.SECP256R1()).public_key())  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
def test_tampered_signature(scheme):
    headers = signed(scheme)
    sig = headers["Signature"]
    i = sig.index('signature="') + 20 if scheme == "cavage" else 20
    headers["Signature"] = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]
    refused("does not verify", headers)


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
def test_tampered_request(scheme):
    headers = signed(scheme)
    refused("does not verify", headers, target="/other-inbox")


def test_unsupported_cavage_algorithm():
    headers = httpsig_sign(mastodon_headers(), path="/inbox", algorithm="rsa-sha512")
    refused("unsupported signature algorithm 'rsa-sha512'", headers)


def test_unsupported_rfc9421_algorithm():
    headers = signed("rfc9421")
    headers["Signature-Input"] = headers["Signature-Input"].replace("rsa-v1_5-sha256", "rsa-pss-sha512")
    refused("unsupported signature algorithm 'rsa-pss-sha512'", headers)


def test_created_with_rsa_sha256_refused():
    headers = httpsig_sign(mastodon_headers(), path="/inbox")
    headers["Signature"] = headers["Signature"].replace('headers="', 'created=1,headers="(created) ')
    refused("cannot be signed with algorithm rsa-sha256", headers)


def test_missing_key_id_and_signature_value():
    refused("no keyId", {"Signature": 'headers="(request-target) host date",signature="AAAA"'})
    refused("no signature value", {"Signature": f'keyId="{KEY_ID}",headers="(request-target) host date"'})


def test_bad_base64_signature():
    headers = signed("cavage")
    headers["Signature"] = headers["Signature"].rsplit('signature="', 1)[0] + 'signature="!!!"'
    refused("not valid base64", headers)


def test_rfc9421_requirements():
    headers = signed("rfc9421")
    no_target = dict(headers, **{"Signature-Input": headers["Signature-Input"].replace(' "@target-uri"', "")})
    refused("must cover the @method and @target-uri", no_target)
    no_digest = dict(headers, **{"Signature-Input": headers["Signature-Input"].replace(' "content-digest"', "")})
    refused("must cover the Content-Digest", no_digest)
    no_created = dict(
        headers, **{"Signature-Input": headers["Signature-Input"].replace(f";created={int(NOW.timestamp())}", "")}
    )
    refused("no created parameter", no_created)
    no_keyid = dict(headers, **{"Signature-Input": headers["Signature-Input"].replace(f';keyid="{KEY_ID}"', "")})
    refused("no keyid", no_keyid)
    no_sig = {k: v for k, v in headers.items() if k != "Signature"}
    refused("Signature header is missing", no_sig)
    wrong_label = dict(headers, Signature=headers["Signature"].replace("sig1=", "sig2="))
    refused("no label of Signature-Input has a matching Signature", wrong_label)


def test_garbage_pem():
    with pytest.raises(SignatureError, match="not a valid PEM public key"):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SignatureError, match="not a valid PEM public key"):
        load_public_key("héllo")
    with pytest.raises(SignatureError, match="not a valid unencrypted PEM private key"):
        load_private_key("garbage")
    with pytest.raises(SignatureError, match="only RSA and Ed25519"):
        load_public_key(pem_public(ec.generate_private_key(ec.SECP256R1())))


def test_key_loading_is_cached():
    pem = pem_public(RSA_KEY)
    assert load_public_key(pem) is load_public_key(pem)
    priv = pem_private(RSA_KEY)
    assert load_private_key(priv) is load_private_key(priv)


def test_pkcs1_rsa_public_key_pem_accepted():
    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    verify_claim(claim_for(signed()), load_public_key(pem))


def test_signature_error_carries_reason():
    err = SignatureError("because", key_id="k")
    assert str(err) == "because" and err.reason == "because" and err.key_id == "k"
