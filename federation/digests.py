"""Body digests: ``Digest`` (RFC 3230, draft-cavage era) and ``Content-Digest`` (RFC 9530).

Compute:  ``digest_header(body)`` -> ``"SHA-256=<b64>"``;
          ``content_digest_header(body)`` -> ``"sha-256=:<b64>:"``.
Check:    ``check_digest(value, body)`` and ``check_content_digest(value, body)`` return None or
          raise :class:`DigestError` with a sentence a remote admin can act on.

Interop rules, from what servers send:

* ``Digest`` algorithm names compare case-insensitively (Mastodon sends ``SHA-256=``, bovine
  ``sha-256=``); several comma-separated values may be offered; SHA-256 and SHA-512 are
  understood, and every understood value offered must match the body (an offered value that
  does not match is a tampered body or a broken sender either way). Values offered only in
  algorithms we do not know are refused, naming what was offered.
* ``Content-Digest`` is an RFC 8941 Dictionary of byte sequences; ``sha-256`` and ``sha-512``
  are understood, with the same all-understood-must-match rule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from federation.rfc9421 import Item, StructuredFieldError, parse_dictionary

__all__ = [
    "DigestError",
    "check_content_digest",
    "check_digest",
    "content_digest_header",
    "digest_header",
]

_HASHES = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


class DigestError(ValueError):
    """The digest header is malformed, unsupported, or does not match the body."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def digest_header(body: bytes) -> str:
    """RFC 3230 ``Digest`` value as Mastodon sends it."""
    return "SHA-256=" + _b64(hashlib.sha256(body).digest())


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """RFC 9530 ``Content-Digest`` value (``sha-256`` or ``sha-512``)."""
    return f"{algorithm}=:{_b64(_HASHES[algorithm](body).digest())}:"


def check_digest(value: str, body: bytes) -> None:
    """Check an RFC 3230 ``Digest`` header against the body."""
    offered: list[tuple[str, str]] = []
    for part in value.split(","):
        name, sep, b64 = part.strip().partition("=")
        if not sep:
            raise DigestError(f"Digest header is malformed: {part.strip()[:60]!r} has no '='")
        offered.append((name.strip().lower(), b64.strip()))
    usable = [(n, v) for n, v in offered if n in _HASHES]
    if not usable:
        names = ", ".join(n for n, _ in offered) or "none"
        raise DigestError(f"Digest header offers no SHA-256 or SHA-512 value (offered: {names})")
    for name, given in usable:
        computed = _HASHES[name](body).digest()
        if given == _b64(computed):
            continue  # the common case: the value as the sender's encoder wrote it
        try:
            given_raw = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            raise DigestError(f"Digest header's {name.upper()} value is not valid base64: {given[:60]!r}") from None
        if given_raw != computed:
            raise DigestError(
                f"Digest header does not match the body: computed {name.upper()}={_b64(computed)}, given {given[:100]}"
            )


def check_content_digest(value: str, body: bytes) -> None:
    """Check an RFC 9530 ``Content-Digest`` header against the body."""
    try:
        members = parse_dictionary(value)
    except StructuredFieldError as e:
        raise DigestError(f"Content-Digest header is not a valid structured-field dictionary: {e}") from None
    usable = {k: m for k, m in members.items() if k in _HASHES}
    if not usable:
        names = ", ".join(members) or "none"
        raise DigestError(f"Content-Digest header offers no sha-256 or sha-512 value (offered: {names})")
    for name, member in usable.items():
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestError(f"Content-Digest {name} value is not a byte sequence (:base64:)")
        computed = _HASHES[name](body).digest()
        if member.value != computed:
            raise DigestError(
                f"Content-Digest header does not match the body: computed {name}=:{_b64(computed)}:, "
                f"given {name}=:{_b64(member.value)}:"
            )
