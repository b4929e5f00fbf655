"""HTTP signatures for the node: read a request's signature claim, verify it, sign our requests.

Two schemes are spoken, both as Mastodon speaks them (``app/lib/signed_request.rb``):

* **draft-cavage-12** (``Signature: keyId=...,headers=...,signature=...``), parsed in
  :mod:`federation.httpsig`. Every fediverse server sends it; we send it first.
* **RFC 9421** (``Signature-Input`` + ``Signature``), parsed in :mod:`federation.rfc9421`.
  Mastodon 4.5+ verifies it; we send it on a retry after a 401 ("double knock").

Verification is split in two so that the key fetch sits between them:

1. :func:`read_signature_claim` is pure and cheap. It parses whichever signature the request
   carries, enforces the policy (what must be covered, freshness against the injected ``now``,
   the body digest recomputed and compared) and returns a :class:`SignatureClaim`: who claims to
   have signed (``key_id``) and the exact candidate bytes they must have signed.
2. :func:`verify_claim` checks the signature over those bytes with the fetched public key.
   The inbox refetches the key once and calls it again on failure (key rotation).

Both raise :class:`SignatureError` and nothing else; its message is a sentence a remote admin can
act on, and it becomes the JSON reason of a 401.

Why ``cryptography`` with cached key objects rather than the ``httpsig`` package: ``httpsig``
parses the PEM and builds a pycryptodome key on every call and its RSA is slower; parsing a
PEM costs more than verifying with it. :func:`load_public_key` is ``lru_cache``'d on the PEM
text, so a busy inbox parses each remote key once. ``benchmarks/bench_signatures.py`` measures
the difference in the same run.

Signing (:func:`sign_request`) returns the complete header set; ``now`` is always passed in.
Algorithms sent: cavage ``rsa-sha256`` for RSA keys (what Mastodon sends and accepts) and
``hs2019`` for Ed25519 keys (Mastodon accepts only ``rsa-sha256`` and ``hs2019``; ``hs2019``
means "derive the algorithm from the key"). RFC 9421 ``alg`` is ``rsa-v1_5-sha256`` or
``ed25519``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from federation import httpsig, rfc9421
from federation.digests import (
    DigestError,
    check_content_digest,
    check_digest,
    content_digest_header,
    digest_header,
)

__all__ = [
    "SignatureClaim",
    "SignatureError",
    "load_private_key",
    "load_public_key",
    "read_signature_claim",
    "sign_request",
    "verify_claim",
]

Scheme = Literal["cavage", "rfc9421"]

#: How far past its ``expires`` a signature is still taken, for clock drift between servers.
EXPIRES_LEEWAY = timedelta(minutes=5)
#: Methods whose body must be bound by a signed digest.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019", "", "ed25519"})
_RFC9421_ALGORITHMS = frozenset({"", "rsa-v1_5-sha256", "ed25519"})
_RSA_ALGORITHMS = frozenset({"rsa-sha256", "hs2019", "", "rsa-v1_5-sha256"})
_ED25519_ALGORITHMS = frozenset({"hs2019", "", "ed25519"})
_INT_RE = re.compile(r"[0-9]{1,15}")
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class SignatureError(Exception):
    """Why a request's signature was refused; str(e) is a sentence a remote admin can act on."""

    def __init__(self, reason: str, *, key_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key_id = key_id


@dataclass(frozen=True)
class SignatureClaim:
    """A parsed, policy-checked signature, not yet verified against a key."""

    scheme: Scheme
    key_id: str
    algorithm: str  # as declared, lowercased; "" if absent
    signing_bases: tuple[bytes, ...]  # candidate exact signed bytes, most likely first
    signature: bytes
    created: datetime | None
    covered: tuple[str, ...]  # covered component names, lowercased


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def load_public_key(pem: str) -> rsa.RSAPublicKey | ed25519.Ed25519PublicKey:
    """Parse a ``publicKeyPem`` once; later calls with the same text return the same object."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeError, AttributeError) as e:
        raise SignatureError(f"the public key is not a valid PEM public key ({type(e).__name__})") from None
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise SignatureError(f"unsupported public key type {type(key).__name__}: only RSA and Ed25519 are supported")
    return key


@functools.lru_cache(maxsize=256)
def load_private_key(pem: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """Parse an unencrypted PKCS#8/PKCS#1 PEM private key once (cached on the text)."""
    try:
        key = serialization.load_pem_private_key(pem.strip().encode("ascii"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeError, AttributeError) as e:
        raise SignatureError(
            f"the private key is not a valid unencrypted PEM private key ({type(e).__name__})"
        ) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise SignatureError(f"unsupported private key type {type(key).__name__}: only RSA and Ed25519 are supported")
    return key


# ---------------------------------------------------------------------------------------------
# Reading a claim
# ---------------------------------------------------------------------------------------------


def _header_getter(headers: Mapping[str, str]) -> Callable[[str], str | None]:
    """Case-insensitive lookup; repeated fields are combined with ", " (works for multidicts too)."""
    if isinstance(headers, (CIMultiDict, CIMultiDictProxy)):  # aiohttp's: already case-insensitive

        def get(name: str) -> str | None:
            values = headers.getall(name, None)
            if values is None:
                return None
            return values[0].strip() if len(values) == 1 else ", ".join(v.strip() for v in values)

        return get
    combined: dict[str, str] = {}
    for k, v in headers.items():
        name = str(k).lower()
        value = str(v).strip()
        combined[name] = f"{combined[name]}, {value}" if name in combined else value
    return combined.get


def _timestamp(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _check_fresh(ts: float, now_ts: float, max_skew: timedelta, what: str, key_id: str) -> None:
    skew = max_skew.total_seconds()
    if ts > now_ts + skew:
        raise SignatureError(
            f"{what} is {ts - now_ts:.0f} s in the future, more than the {skew:.0f} s allowed: check your clock",
            key_id=key_id,
        )
    if ts < now_ts - skew:
        raise SignatureError(
            f"{what} is {now_ts - ts:.0f} s old, more than the {skew:.0f} s allowed: sign requests when sending them",
            key_id=key_id,
        )


def _check_expires(expires: float, now_ts: float, max_skew: timedelta, key_id: str) -> None:
    leeway = min(max_skew, EXPIRES_LEEWAY).total_seconds()
    if now_ts > expires + leeway:
        raise SignatureError(f"the signature expired {now_ts - expires:.0f} s ago", key_id=key_id)


_IMF_FIXDATE = re.compile(r"[A-Z][a-z]{2}, ([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT")
_MONTHS = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}


def _parse_date(value: str, key_id: str) -> float:
    timestamp = _http_date_timestamp(value)
    if timestamp is None:
        raise SignatureError(f"the Date header is not an HTTP date: {value[:60]!r}", key_id=key_id)
    return timestamp


@functools.lru_cache(maxsize=256)  # a busy inbox gets many requests signed in the same second
def _http_date_timestamp(value: str) -> float | None:
    m = _IMF_FIXDATE.fullmatch(value)  # the form everyone sends, parsed without the email module
    if m is not None and m.group(2) in _MONTHS:
        day, _, year, hh, mm, ss = m.groups()
        try:
            return datetime(int(year), _MONTHS[m.group(2)], int(day), int(hh), int(mm), int(ss), tzinfo=UTC).timestamp()
        except ValueError:
            pass  # e.g. 31 Feb: let the lenient parser decide
    try:
        return _timestamp(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _check_body_digests(covered: tuple[str, ...], get: Callable[[str], str | None], body: bytes, key_id: str) -> None:
    for name, check in (("digest", check_digest), ("content-digest", check_content_digest)):
        if name in covered:
            value = get(name)
            if value is None:
                raise SignatureError(f"the {name} header is signed but missing from the request", key_id=key_id)
            try:
                check(value, body)
            except DigestError as e:
                raise SignatureError(str(e), key_id=key_id) from None


def _from_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _read_cavage(
    value: str,
    method: str,
    target: str,
    get: Callable[[str], str | None],
    body: bytes,
    now_ts: float,
    max_skew: timedelta,
) -> SignatureClaim:
    params = httpsig.parse_signature_header(value)
    key_id = params.get("keyid", "")
    if not key_id:
        raise SignatureError("the Signature header has no keyId")
    if not params.get("signature"):
        raise SignatureError("the Signature header has no signature value", key_id=key_id)
    algorithm = params.get("algorithm", "").lower()
    if algorithm not in _CAVAGE_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}: use rsa-sha256 or hs2019", key_id=key_id)
    covered = tuple(params.get("headers", "date").lower().split())
    _check_cavage_coverage(covered, method, algorithm, key_id)
    created_ts = _cavage_time(params, covered, get, now_ts, max_skew, key_id)
    _check_body_digests(covered, get, body, key_id)
    strings = httpsig.signing_strings(covered, method=method, target=target, params=params, header=get)
    try:
        signature = base64.b64decode("".join(params["signature"].split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature value is not valid base64", key_id=key_id) from None
    return SignatureClaim(
        scheme="cavage",
        key_id=key_id,
        algorithm=algorithm,
        signing_bases=tuple(rfc9421.wire_bytes(s) for s in strings),
        signature=signature,
        created=None if created_ts is None else _from_ts(created_ts),
        covered=covered,
    )


def _check_cavage_coverage(covered: tuple[str, ...], method: str, algorithm: str, key_id: str) -> None:
    """What a draft-cavage signature must cover, as Mastodon asks."""
    if "(request-target)" not in covered:
        raise SignatureError("the signature must cover (request-target)", key_id=key_id)
    if "host" not in covered:
        raise SignatureError("the signature must cover the Host header", key_id=key_id)
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("the signature must cover the Date header or (created)", key_id=key_id)
    if method in BODY_METHODS and "digest" not in covered and "content-digest" not in covered:
        raise SignatureError(f"a {method} signature must cover the Digest header", key_id=key_id)
    if algorithm == "rsa-sha256" and ("(created)" in covered or "(expires)" in covered):
        raise SignatureError(
            "(created) and (expires) cannot be signed with algorithm rsa-sha256: use hs2019", key_id=key_id
        )


def _cavage_time(
    params: dict,
    covered: tuple[str, ...],
    get: Callable[[str], str | None],
    now_ts: float,
    max_skew: timedelta,
    key_id: str,
) -> float | None:
    """When the signature was made (``created``, else the signed Date), checked for freshness."""
    created_ts: float | None = None
    for pname in ("created", "expires"):
        raw = params.get(pname)
        if raw is not None and not _INT_RE.fullmatch(raw):
            raise SignatureError(f"the {pname} parameter must be a Unix timestamp, got {raw[:30]!r}", key_id=key_id)
    if "created" in params:
        created_ts = float(params["created"])
        _check_fresh(created_ts, now_ts, max_skew, "the signature's created time", key_id)
    if "date" in covered:
        date = get("date")
        if date is None:
            raise SignatureError("the Date header is signed but missing from the request", key_id=key_id)
        date_ts = _parse_date(date, key_id)
        _check_fresh(date_ts, now_ts, max_skew, "the Date header", key_id)
        created_ts = date_ts if created_ts is None else created_ts
    if "expires" in params:
        _check_expires(float(params["expires"]), now_ts, max_skew, key_id)
    return created_ts


def _int_param(params: dict, name: str, key_id: str) -> int | None:
    v = params.get(name)
    if v is None:
        return None
    if type(v) is not int or v < 0:
        raise SignatureError(f"the {name} parameter must be a Unix timestamp integer", key_id=key_id)
    return v


def _read_rfc9421(
    sig_input: str,
    method: str,
    target: str,
    get: Callable[[str], str | None],
    body: bytes,
    now_ts: float,
    max_skew: timedelta,
) -> SignatureClaim:
    sig_value = get("signature")
    if sig_value is None:
        raise SignatureError("Signature-Input is present but the Signature header is missing")
    parsed = rfc9421.parse_signature_fields(sig_input, sig_value)
    key_id = parsed.params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError(f"signature {parsed.label!r} has no keyid string parameter")
    alg = parsed.params.get("alg", "")
    if not isinstance(alg, str) or alg.lower() not in _RFC9421_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {alg!r}: use rsa-v1_5-sha256 or ed25519", key_id=key_id)
    algorithm = alg.lower()
    covered = tuple(str(c.value).lower() for c in parsed.components)
    if "@method" not in covered or "@target-uri" not in covered:
        raise SignatureError("the signature must cover the @method and @target-uri components", key_id=key_id)
    if method in BODY_METHODS and "content-digest" not in covered:
        raise SignatureError(f"a {method} signature must cover the Content-Digest header", key_id=key_id)
    created = _int_param(parsed.params, "created", key_id)
    if created is None:
        raise SignatureError("the signature has no created parameter", key_id=key_id)
    _check_fresh(float(created), now_ts, max_skew, "the signature's created time", key_id)
    expires = _int_param(parsed.params, "expires", key_id)
    if expires is not None:
        _check_expires(float(expires), now_ts, max_skew, key_id)
    _check_body_digests(covered, get, body, key_id)

    host = get("host")
    if host is None:
        raise SignatureError("the request has no Host header", key_id=key_id)
    schemes = ("https", "http") if ("@target-uri" in covered or "@scheme" in covered) else ("https",)
    bases = tuple(
        rfc9421.build_signature_base(
            parsed.components,
            parsed.params_line,
            method=method,
            scheme=scheme,
            authority=host.lower(),
            target=target,
            header=get,
        )
        for scheme in schemes
    )
    return SignatureClaim(
        scheme="rfc9421",
        key_id=key_id,
        algorithm=algorithm,
        signing_bases=bases,
        signature=parsed.signature,
        created=_from_ts(float(created)),
        covered=covered,
    )


def read_signature_claim(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    now: datetime,
    max_skew: timedelta = timedelta(hours=1),
) -> SignatureClaim:
    """Parse and policy-check the request's signature; raise :class:`SignatureError` on any problem.

    ``target`` is the path and query exactly as received (aiohttp: ``request.raw_path``).
    RFC 9421 is read when ``Signature-Input`` is present, else cavage from ``Signature`` or
    ``Authorization: Signature ...``.
    """
    try:
        get = _header_getter(headers)
        method = str(method).upper()
        now_ts = _timestamp(now)
        body = body or b""
        sig_input = get("signature-input")
        if sig_input is not None:
            return _read_rfc9421(sig_input, method, target, get, body, now_ts, max_skew)
        value = get("signature")
        if value is None:
            auth = get("authorization")
            if auth is not None and auth[:10].lower() == "signature ":
                value = auth[10:]
        if value is None:
            raise SignatureError(
                "the request is not signed: no Signature, Signature-Input or Authorization: Signature header"
            )
        return _read_cavage(value, method, target, get, body, now_ts, max_skew)
    except (httpsig.CavageError, rfc9421.StructuredFieldError, rfc9421.ComponentError) as e:
        raise SignatureError(str(e)) from None


# ---------------------------------------------------------------------------------------------
# Verifying
# ---------------------------------------------------------------------------------------------


def verify_claim(claim: SignatureClaim, public_key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey | str) -> None:
    """Check the claim's signature with ``public_key`` (a key object, or PEM text: loaded via the cache)."""
    if isinstance(public_key, str):
        public_key = load_public_key(public_key)
    key_id = claim.key_id
    verify: Callable[[bytes], None]
    if isinstance(public_key, rsa.RSAPublicKey):
        if claim.algorithm not in _RSA_ALGORITHMS:
            raise SignatureError(f"algorithm {claim.algorithm!r} does not fit the RSA key {key_id}", key_id=key_id)

        def verify(base: bytes) -> None:
            public_key.verify(claim.signature, base, _PKCS1, _SHA256)

    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        if claim.algorithm not in _ED25519_ALGORITHMS:
            raise SignatureError(f"algorithm {claim.algorithm!r} does not fit the Ed25519 key {key_id}", key_id=key_id)

        def verify(base: bytes) -> None:
            public_key.verify(claim.signature, base)

    else:
        raise SignatureError(
            f"key {key_id} is a {type(public_key).__name__}: only RSA and Ed25519 keys are supported", key_id=key_id
        )
    for base in claim.signing_bases:
        try:
            verify(base)
            return
        except (InvalidSignature, ValueError):
            continue
    raise SignatureError(f"signature does not verify with key {key_id}", key_id=key_id)


# ---------------------------------------------------------------------------------------------
# Signing
# ---------------------------------------------------------------------------------------------

_SET_BY_SIGNER = frozenset({"host", "date", "digest", "content-digest", "signature", "signature-input"})


def _sign_bytes(private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, _PKCS1, _SHA256)
    return private_key.sign(data)


def _authority(url: URL) -> str:
    host = url.raw_host or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if url.port is not None and not url.is_default_port():
        host = f"{host}:{url.port}"
    return host.lower()


def sign_request(
    method: str,
    url: str,
    body: bytes | None,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | str,
    scheme: Scheme = "cavage",
    now: datetime,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the complete headers to send: ``headers`` plus Host, Date, a digest and the signature.

    Host and the signed target come from the URL as aiohttp will send it (``yarl``'s encoded
    form), so what is signed is what goes on the wire. ``private_key`` may be PEM text.
    """
    if isinstance(private_key, str):
        private_key = load_private_key(private_key)
    if not isinstance(private_key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise TypeError(f"cannot sign with a {type(private_key).__name__}: use an RSA or Ed25519 private key")
    u = URL(url)
    if u.scheme not in ("http", "https") or not u.raw_host:
        raise ValueError(f"cannot sign a request to {url!r}: an absolute http(s) URL is needed")
    host = _authority(u)
    target = u.raw_path_qs or "/"
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in _SET_BY_SIGNER}
    out["Host"] = host
    out["Date"] = format_datetime(now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC), usegmt=True)

    if scheme == "cavage":
        return _sign_cavage(out, method, target, host, body, key_id, private_key)
    if scheme == "rfc9421":
        return _sign_rfc9421(out, method, u.scheme, target, host, body, key_id, private_key, now)
    raise ValueError(f"unknown signature scheme {scheme!r}: use 'cavage' or 'rfc9421'")


def _sign_cavage(
    out: dict[str, str],
    method: str,
    target: str,
    host: str,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
) -> dict[str, str]:
    covered = ["(request-target)", "host", "date"]
    values = {"host": host, "date": out["Date"]}
    if body is not None:
        out["Digest"] = values["digest"] = digest_header(body)
        covered.append("digest")
    text = httpsig.signing_strings(covered, method=method, target=target, params={}, header=values.get)[0]
    signature = _sign_bytes(private_key, rfc9421.wire_bytes(text))
    algorithm = "rsa-sha256" if isinstance(private_key, rsa.RSAPrivateKey) else "hs2019"
    out["Signature"] = httpsig.format_signature_header(
        key_id, algorithm, covered, base64.b64encode(signature).decode("ascii")
    )
    return out


def _sign_rfc9421(
    out: dict[str, str],
    method: str,
    url_scheme: str,
    target: str,
    host: str,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    now: datetime,
) -> dict[str, str]:
    components = ["@method", "@target-uri"]
    values = {}
    if body is not None:
        out["Content-Digest"] = values["content-digest"] = content_digest_header(body)
        components.append("content-digest")
    params: dict[str, rfc9421.BareItem] = {
        "created": int(_timestamp(now)),
        "keyid": key_id,
        "alg": "rsa-v1_5-sha256" if isinstance(private_key, rsa.RSAPrivateKey) else "ed25519",
    }
    base = rfc9421.build_signature_base(
        [rfc9421.Item(c) for c in components],
        rfc9421.signature_params_line(components, params),
        method=method.upper(),
        scheme=url_scheme,
        authority=host,
        target=target,
        header=values.get,
    )
    signature = _sign_bytes(private_key, base)
    out["Signature-Input"], out["Signature"] = rfc9421.format_signature_fields("sig1", components, params, signature)
    return out
