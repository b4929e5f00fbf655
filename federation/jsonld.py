"""JSON-LD processing that never touches the network.

ActivityPub documents name their vocabularies by ``@context`` URL.  A server
that dereferenced those URLs while handling a request would be slow, could be
steered into fetching arbitrary addresses, and would break offline.  So the
only contexts this module can resolve are the published documents bundled in
``federation/contexts/`` (see the README there for where each came from):

===============================================  ==========================
URL                                               file
===============================================  ==========================
https://www.w3.org/ns/activitystreams            activitystreams.jsonld
https://w3id.org/security/v1                     security-v1.jsonld
https://w3id.org/security/v2                     security-v2.jsonld
https://w3id.org/security/data-integrity/v1      data-integrity-v1.jsonld
https://w3id.org/security/data-integrity/v2      data-integrity-v2.jsonld
https://w3id.org/security/multikey/v1            multikey-v1.jsonld
===============================================  ==========================

Any other URL raises pyld's ``JsonLdError`` (``loading document failed``).

The loader is passed to pyld per call (``options["documentLoader"]``); this
module does not call ``jsonld.set_document_loader`` and so leaves pyld's
global default alone.  (pyld does keep a process-wide cache of resolved
contexts keyed by URL; that only ever holds what some loader returned.)

:func:`undefined_terms` is for tests: it lists the keys of a compact document
that its ``@context`` does not define.  It expands the document with one more
context entry appended, ``{"@vocab": <sentinel>}``, so that an undefined key
expands to ``<sentinel>key`` instead of being dropped, then collects those —
and any key that expanded to a blank-node IRI ``_:key``, which is what the
ActivityStreams context's own ``"@vocab": "_:"`` makes of unknown terms.

Specs: JSON-LD 1.1 Processing Algorithms and API (document loaders,
expansion); ActivityStreams 2.0 §2.1 (the normative context).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld as _pyld

from federation.activitystreams import AS_CONTEXT

__all__ = [
    "AS_CONTEXT",
    "BUNDLED_CONTEXTS",
    "DATA_INTEGRITY_V1",
    "DATA_INTEGRITY_V2",
    "MULTIKEY_V1",
    "SECURITY_V1",
    "SECURITY_V2",
    "expand",
    "offline_document_loader",
    "undefined_terms",
]

SECURITY_V1 = "https://w3id.org/security/v1"
SECURITY_V2 = "https://w3id.org/security/v2"
DATA_INTEGRITY_V1 = "https://w3id.org/security/data-integrity/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

BUNDLED_CONTEXTS: dict[str, str] = {
    AS_CONTEXT: "activitystreams.jsonld",
    SECURITY_V1: "security-v1.jsonld",
    SECURITY_V2: "security-v2.jsonld",
    DATA_INTEGRITY_V1: "data-integrity-v1.jsonld",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
}
"""Context URL -> file name in ``federation/contexts``."""

# Spellings of the same documents seen in the wild.
_ALIASES = {
    "http://www.w3.org/ns/activitystreams": AS_CONTEXT,
    "https://www.w3.org/ns/activitystreams.jsonld": AS_CONTEXT,
    "http://www.w3.org/ns/activitystreams.jsonld": AS_CONTEXT,
}

_UNDEFINED = "urn:chapterhouse:undefined-term:"


def offline_document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader serving only the bundled contexts; never fetches."""
    canonical = _ALIASES.get(url, url)
    name = BUNDLED_CONTEXTS.get(canonical)
    if name is None:
        raise _pyld.JsonLdError(
            f"refusing to load {url!r}: only bundled contexts are available offline "
            f"({', '.join(sorted(BUNDLED_CONTEXTS))})",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(_bundled(name)),
    }


def expand(document: dict[str, Any]) -> list[Any]:
    """``pyld.jsonld.expand`` resolving contexts with :func:`offline_document_loader`."""
    return _pyld.expand(document, {"documentLoader": offline_document_loader})


def undefined_terms(document: dict[str, Any], *, types: bool = False) -> list[str]:
    """Keys (recursively) that ``document``'s ``@context`` gives no IRI, sorted.

    With ``types=True`` the undefined values of ``type``/``@type`` are listed too.
    """
    probe = dict(document)
    context = probe.get("@context")
    stack = [] if context is None else context if isinstance(context, list) else [context]
    probe["@context"] = [*stack, {"@vocab": _UNDEFINED}]
    dropped: set[str] = set()

    def on_dropped(term: str | None) -> None:
        if term and not term.startswith("@"):
            dropped.add(term)

    expanded = _pyld.expand(probe, {"documentLoader": offline_document_loader}, on_property_dropped=on_dropped)
    found = dropped | _collect(expanded, types)
    return sorted(found)


def _collect(value: Any, types: bool) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if key == "@type" and types:
                    names = child if isinstance(child, list) else [child]
                    found.update(term for name in names if (term := _undefined_name(name)))
                elif key == "@value":
                    continue
                elif term := _undefined_name(key):
                    found.add(term)
                stack.append(child)
    return found


def _undefined_name(iri: Any) -> str | None:
    if not isinstance(iri, str):
        return None
    if iri.startswith(_UNDEFINED):
        return iri[len(_UNDEFINED) :]
    if iri.startswith("_:"):
        return iri[2:]
    return None


@cache
def _bundled(name: str) -> Any:
    text = resources.files("federation").joinpath("contexts", name).read_text(encoding="utf-8")
    return json.loads(text)
