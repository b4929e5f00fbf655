"""Who signed a request: the whole verification flow, from headers to a known actor.

Parse the claim (which checks the covered components, freshness and the body digest), check
that it was signed for this node's host (``expected_host``: a request signed for another
server and replayed here is refused), get the key (cache first), verify; if that fails,
refetch the key once (the actor may have rotated it) and verify again. A keyId that could
never be fetched (not UTF-8, or a host no connection could use:
:func:`federation.addresses.host_problem`) is refused as an unavailable key, before the
cache or the network. Returns who signed, or raises :class:`SignatureError` that says why.
Knows nothing of web routes: it takes the method, target, headers and body.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from federation.actors import RemoteActors, RemoteKey
from federation.addresses import host_problem
from federation.client import FetchError
from federation.signatures import SignatureClaim, SignatureError, load_public_key, read_signature_claim, verify_claim


class KeyUnavailable(SignatureError):
    """The signing key could not be fetched (the actor may be gone, or its server down)."""


@dataclass(frozen=True)
class VerifiedSigner:
    key_id: str
    actor_id: str


def _authority(value: str) -> str:
    """host[:port] lowercased, without the default port of http or https."""
    value = value.strip().lower()
    for default in (":80", ":443"):
        if value.endswith(default) and "]" not in value[-len(default) :]:
            return value[: -len(default)]
    return value


def check_signed_host(headers: Mapping[str, str], expected_host: str | None) -> None:
    """The signed ``host`` (both schemes must cover it) must be this node's, from ``base_url``."""
    if expected_host is None:
        return
    signed = headers.get("Host") or headers.get("host") or ""
    if _authority(signed) != _authority(expected_host):
        raise SignatureError(
            f"the request was signed for the host {signed or '(none)'!r}, not this node's"
            f" {expected_host}; sign requests for the server they are sent to"
        )


async def verify_request(
    remote_actors: RemoteActors,
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    now,
    expected_host: str | None = None,
) -> VerifiedSigner:
    claim = read_signature_claim(method, target, headers, body, now=now)
    check_signed_host(headers, expected_host)
    problem = key_id_problem(claim.key_id)
    if problem is not None:
        raise KeyUnavailable(f"could not get the signing key {claim.key_id!r}: {problem}", key_id=claim.key_id)
    try:
        key = await remote_actors.get_key(claim.key_id)
    except FetchError as error:
        raise KeyUnavailable(
            f"could not get the signing key {claim.key_id}: {error.reason}", key_id=claim.key_id
        ) from None
    if _matches(claim, key):
        return VerifiedSigner(key.key_id, key.owner)
    try:
        fresh = await remote_actors.get_key(claim.key_id, refresh=True)
    except FetchError as error:
        raise SignatureError(
            f"signature does not verify with the cached key {claim.key_id}, and refetching it failed: {error.reason}",
            key_id=claim.key_id,
        ) from None
    verify_claim(claim, load_public_key(fresh.public_pem))  # raises with the reason
    return VerifiedSigner(fresh.key_id, fresh.owner)


async def verify_with_cached_key(
    remote_actors: RemoteActors,
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    now,
    expected_host: str | None = None,
) -> VerifiedSigner | None:
    """Verify with a stored key only, never fetching: None when no key is stored."""
    claim = read_signature_claim(method, target, headers, body, now=now)
    check_signed_host(headers, expected_host)
    if key_id_problem(claim.key_id) is not None:
        return None
    key = await remote_actors.cached_key(claim.key_id)
    if key is None:
        return None
    verify_claim(claim, load_public_key(key.public_pem))
    return VerifiedSigner(key.key_id, key.owner)


@functools.lru_cache(maxsize=1024)  # a pure function of the text: senders repeat their keyIds
def key_id_problem(key_id: str) -> str | None:
    """Why a keyId can be neither stored nor fetched (text that is not UTF-8, a host no
    connection could use), or None; such a key is as unavailable as one whose server is down."""
    try:
        key_id.encode("utf-8")
    except UnicodeEncodeError:
        return "the keyId is not UTF-8 text"
    return host_problem(key_id)


def _matches(claim: SignatureClaim, key: RemoteKey) -> bool:
    try:
        verify_claim(claim, load_public_key(key.public_pem))
    except SignatureError:
        return False
    return True
