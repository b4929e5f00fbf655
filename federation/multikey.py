"""Ed25519 public keys as FEP-521a ``Multikey`` verification methods.

An actor publishes the key that signs its object proofs (FEP-8b32) in its
``assertionMethod`` list::

    {"id": "https://a.example/users/ann#ed25519-key",
     "type": "Multikey",
     "controller": "https://a.example/users/ann",
     "publicKeyMultibase": "z6Mk..."}

``publicKeyMultibase`` is a multibase string: the prefix ``z`` (base58btc,
Bitcoin alphabet) followed by the base58 encoding of the two-byte multicodec
header ``0xed 0x01`` (``ed25519-pub``) and the 32 raw key bytes.  Anything else
(another base, another codec, a private-key codec, a wrong length) is refused
with a ``ValueError`` that says which part is wrong, as the W3C Controlled
Identifiers / vc-di-eddsa "Multikey" sections require.

Base58btc is written here (it is a few lines) rather than pulled in as a
dependency; ``proofs`` reuses it for ``proofValue``.

Specs: FEP-521a "Representing actor's public keys"; W3C Data Integrity EdDSA
Cryptosuites v1.0 §2.1.1 (Multikey); draft-multiformats-multibase; the
multicodec table (``ed25519-pub`` = 0xed).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "ED25519_PUB_HEADER",
    "base58btc_decode",
    "base58btc_encode",
    "ed25519_public_to_multibase",
    "find_multikey",
    "multibase_to_ed25519_public",
    "multikey_document",
]

ED25519_PUB_HEADER = b"\xed\x01"
"""Multicodec ``ed25519-pub`` (0xed) as an unsigned varint."""

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}
_MAX_DECODE_CHARS = 4096  # far above any key or signature; bounds the quadratic work


def base58btc_encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) of ``data``, without a multibase prefix."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Inverse of :func:`base58btc_encode`; ``ValueError`` on a foreign character."""
    if not isinstance(text, str):
        raise ValueError(f"base58btc value must be a string, not {type(text).__name__}")
    if len(text) > _MAX_DECODE_CHARS:
        raise ValueError(f"base58btc value is longer than {_MAX_DECODE_CHARS} characters")
    number = 0
    for position, char in enumerate(text):
        value = _INDEX.get(char)
        if value is None:
            raise ValueError(f"character {char!r} at position {position} is not in the base58btc alphabet")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def ed25519_public_to_multibase(key: Ed25519PublicKey) -> str:
    """``z6Mk...``: multibase base58btc of the ``ed25519-pub`` multicodec key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc_encode(ED25519_PUB_HEADER + raw)


def multibase_to_ed25519_public(value: str) -> Ed25519PublicKey:
    """Parse a ``publicKeyMultibase`` value; ``ValueError`` says what is wrong."""
    if not isinstance(value, str):
        raise ValueError(f"publicKeyMultibase must be a string, not {type(value).__name__}")
    if not value.startswith("z"):
        shown = value[:1] or "nothing"
        raise ValueError(f"publicKeyMultibase must start with 'z' (base58btc), found {shown!r}")
    data = base58btc_decode(value[1:])
    if data[:2] != ED25519_PUB_HEADER:
        raise ValueError(
            f"publicKeyMultibase has multicodec header {data[:2].hex() or 'none'}, "
            f"expected {ED25519_PUB_HEADER.hex()} (ed25519-pub)"
        )
    raw = data[2:]
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, publicKeyMultibase holds {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def multikey_document(*, key_id: str, controller: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The verification method object that goes into an actor's ``assertionMethod``."""
    return {
        "id": key_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": ed25519_public_to_multibase(public_key),
    }


def find_multikey(actor: dict[str, Any], key_id: str) -> Ed25519PublicKey | None:
    """The Ed25519 key ``key_id`` among ``actor["assertionMethod"]``, or ``None``.

    ``assertionMethod`` may be one object or a list; entries that are bare
    references (strings) or not ``Multikey`` are skipped.  A matching entry
    counts only if its ``controller`` is the actor itself (FEP-521a: the key's
    controller must be the actor that lists it), so an actor cannot adopt a key
    it does not control.  An entry that matches but whose
    ``publicKeyMultibase`` is malformed raises ``ValueError`` rather than being
    silently ignored.
    """
    if not isinstance(actor, dict):
        return None
    methods = actor.get("assertionMethod")
    if isinstance(methods, dict):
        methods = [methods]
    if not isinstance(methods, list):
        return None
    for method in methods:
        if not isinstance(method, dict) or method.get("id") != key_id:
            continue
        if not _is_multikey(method.get("type")):
            continue
        if actor.get("id") is None or method.get("controller") != actor.get("id"):
            continue
        return multibase_to_ed25519_public(method.get("publicKeyMultibase"))  # type: ignore[arg-type]
    return None


def _is_multikey(type_value: Any) -> bool:
    if isinstance(type_value, list):
        return "Multikey" in type_value
    return type_value == "Multikey"
