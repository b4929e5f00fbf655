"""FEP-8b32 object integrity proofs: ``DataIntegrityProof`` with ``eddsa-jcs-2022``.

An object proof lets a signed object (a chapter's tally, a forwarded reply)
travel through other servers and still be checked against its author's
Ed25519 key (published as a FEP-521a Multikey, see ``federation.multikey``).

The algorithm is W3C "Data Integrity EdDSA Cryptosuites v1.0" (Recommendation,
May 2025), §3.3 eddsa-jcs-2022:

* **create** — the proof starts as the proof options (``type``,
  ``cryptosuite``, ``created``, ``verificationMethod``, ``proofPurpose``); if
  the document has an ``@context``, the proof gets a copy of it (§3.3.1 step 2);
  ``proofConfigHash = SHA-256(JCS(proof))``, ``documentHash =
  SHA-256(JCS(document without proof))``; the Ed25519 signature over
  ``proofConfigHash || documentHash`` becomes ``proofValue``, multibase
  base58btc (``z...``).
* **verify** — take the proof off the document and ``proofValue`` off the
  proof; if the proof has an ``@context``, the document's ``@context`` must
  start with the same entries in the same order and the unsecured document's
  ``@context`` is replaced by the proof's (§3.3.2 step 4); then recompute both
  hashes and check the signature.

One leniency, for proofs made under pre-Recommendation drafts (which put the
document's ``@context`` into the hashed proof configuration without writing it
into the proof): when a proof has no ``@context`` and the signature does not
verify as the Recommendation says, the configuration with the document's
``@context`` added is tried too.  Both variants hash the whole document and
every proof field, so this accepts nothing the key's owner did not sign.

JCS (RFC 8785) is :mod:`federation.canonical` (the ``jcs`` package, with a fast path).  Every way a proof can be wrong —
missing or mistyped fields, another type or cryptosuite, bad multibase, a
``@context`` mismatch, an expired proof, a bad signature — is a
:class:`ProofError` whose text says which; no other exception escapes for a
document that came from JSON.

Finding the key: ``proof_verification_method`` names it, and
:func:`verify_actor_proof` is the ONE check every receiver uses once it has the
actor document that controls it: the method must be that actor's own
(``<actor id>#...``), listed in its ``assertionMethod`` as a Multikey it
controls, well formed (a malformed ``publicKeyMultibase`` is a
:class:`ProofError` like any other, never a bare ``ValueError``), and the
signature must verify.  Fetching the actor is the caller's (the network is
not this module's); the caller also checks that this actor is the one the
object claims as author.  Proof sets and chains (a list under ``proof``) are
refused.
"""

from __future__ import annotations

import copy
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from federation.canonical import canonicalize
from federation.multikey import base58btc_decode, base58btc_encode, find_multikey

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "ProofError",
    "add_proof",
    "proof_verification_method",
    "verify_actor_proof",
    "verify_proof",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"

# XML Schema 1.1 dateTime (timezone optional), as Data Integrity requires for created/expires.
_DATETIME = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", re.ASCII)


class ProofError(Exception):
    """The proof is missing, malformed, or does not verify; ``str()`` says which."""


def add_proof(
    document: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A deep copy of ``document`` with an eddsa-jcs-2022 ``proof`` added.

    ``created`` must be timezone-aware; it is written in UTC to the second
    (``2024-01-02T03:04:05Z``).  A document that already has a ``proof`` is
    refused (proof sets are not supported).
    """
    if not isinstance(document, dict):
        raise ProofError("only a JSON object can carry a proof")
    if "proof" in document:
        raise ProofError("document already has a proof; proof sets are not supported")
    if created.tzinfo is None or created.utcoffset() is None:
        raise ValueError("created must be a timezone-aware datetime")
    unsecured = copy.deepcopy(document)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if "@context" in unsecured:
        proof["@context"] = copy.deepcopy(unsecured["@context"])
    signature = private_key.sign(_hash_data(proof, unsecured))
    proof["proofValue"] = "z" + base58btc_encode(signature)
    unsecured["proof"] = proof
    return unsecured


def proof_verification_method(document: dict[str, Any]) -> str:
    """The ``verificationMethod`` of the document's proof (after checking its shape)."""
    proof, _ = _parse_proof(document)
    return proof["verificationMethod"]


def verify_proof(
    document: dict[str, Any],
    public_key: Ed25519PublicKey,
    *,
    proof_purpose: str = "assertionMethod",
    now: datetime | None = None,
) -> None:
    """Return if ``document``'s proof verifies with ``public_key``; else :class:`ProofError`.

    ``proof_purpose`` is the verification relationship the key was found under
    (FEP-521a keys live in ``assertionMethod``); a proof made for another
    purpose is refused.  ``now`` (default: the current time) decides whether
    an ``expires`` has passed.
    """
    proof, signature = _parse_proof(document)
    if proof["proofPurpose"] != proof_purpose:
        raise ProofError(f"proofPurpose is {proof['proofPurpose']!r}, expected {proof_purpose!r}")
    if "expires" in proof:
        moment = now or datetime.now(UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if _parse_datetime(proof["expires"]) <= moment:
            raise ProofError(f"proof expired at {proof['expires']}")

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    configs = [options]
    if "@context" in options:
        expected = _as_list(options["@context"])
        if _as_list(document.get("@context"))[: len(expected)] != expected:
            raise ProofError("the document's @context does not start with the proof's @context")
        unsecured["@context"] = options["@context"]
    elif "@context" in document:
        configs.append({**options, "@context": document["@context"]})  # pre-Recommendation signers

    for config in configs:
        try:
            public_key.verify(signature, _hash_data(config, unsecured))
        except InvalidSignature:
            continue
        return
    raise ProofError("signature does not verify: the document or its proof was changed, or the key is not the signer's")


def verify_actor_proof(document: dict[str, Any], actor: dict[str, Any], *, now: datetime | None = None) -> str:
    """Check ``document``'s proof with the key ``actor`` (an actor document) publishes for it.

    The proof's ``verificationMethod`` must be a key of ``actor`` itself, found among its
    ``assertionMethod`` Multikeys with ``actor`` as controller, and its ``publicKeyMultibase``
    well formed; then :func:`verify_proof`. Returns the method; every failure is a
    :class:`ProofError` whose text says which (the sender is told, or the item goes dead with it).
    """
    method = proof_verification_method(document)
    actor_id = actor.get("id") if isinstance(actor, dict) else None
    if not isinstance(actor_id, str) or method.split("#")[0] != actor_id:
        raise ProofError(f"the proof is signed with {method}, a key of another actor than {actor_id}")
    try:
        key = find_multikey(actor, method)
    except ValueError as error:
        raise ProofError(f"{actor_id} publishes a malformed Multikey {method}: {error}") from None
    if key is None:
        raise ProofError(f"{actor_id} publishes no Multikey {method} in its assertionMethod")
    try:
        verify_proof(document, key, now=now)
    except ProofError as error:
        raise ProofError(f"the proof does not verify with {method}: {error}") from None
    return method


def _hash_data(proof_config: dict[str, Any], unsecured: dict[str, Any]) -> bytes:
    """``SHA-256(JCS(proof config)) || SHA-256(JCS(document))`` (§3.3.4)."""
    return _jcs_sha256(proof_config, "proof") + _jcs_sha256(unsecured, "document")


def _jcs_sha256(value: Any, what: str) -> bytes:
    try:
        canonical = canonicalize(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as error:
        raise ProofError(f"the {what} cannot be canonicalised with JCS: {error}") from None
    return hashlib.sha256(canonical).digest()


def _parse_proof(document: Any) -> tuple[dict[str, Any], bytes]:
    """Check the proof's shape; return it and the decoded signature bytes."""
    if not isinstance(document, dict):
        raise ProofError("document is not a JSON object")
    if "proof" not in document:
        raise ProofError("document has no proof")
    proof = document["proof"]
    if isinstance(proof, list):
        raise ProofError("proof sets (a list under 'proof') are not supported")
    if not isinstance(proof, dict):
        raise ProofError(f"proof must be an object, not {type(proof).__name__}")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"proof type is {proof.get('type')!r}, expected {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"proof cryptosuite is {proof.get('cryptosuite')!r}, expected {CRYPTOSUITE!r}")
    for field in ("verificationMethod", "proofPurpose", "proofValue"):
        value = proof.get(field)
        if not isinstance(value, str) or not value:
            raise ProofError(f"proof {field} must be a non-empty string")
    for field in ("created", "expires"):
        if field in proof:
            _parse_datetime(proof[field], field)
    if "@context" in proof and not isinstance(proof["@context"], (str, dict, list)):
        raise ProofError("proof @context must be a string, an object or a list")
    value = proof["proofValue"]
    if not value.startswith("z"):
        raise ProofError(f"proofValue must be multibase base58btc (start with 'z'), found {value[:1]!r}")
    try:
        signature = base58btc_decode(value[1:])
    except ValueError as error:
        raise ProofError(f"proofValue is not valid base58btc: {error}") from None
    if len(signature) != 64:
        raise ProofError(f"proofValue holds {len(signature)} bytes, an Ed25519 signature is 64")
    return proof, signature


def _parse_datetime(value: Any, field: str = "expires") -> datetime:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise ProofError(f"proof {field} is not an XML Schema dateTime: {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProofError(f"proof {field} is not a valid date and time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_list(context: Any) -> list[Any]:
    if context is None:
        return []
    return context if isinstance(context, list) else [context]
