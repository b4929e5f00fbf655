"""The project's own JSON-LD terms, in one place, and the @context that defines them.

Chapterhouse terms live under ``https://w3id.org/chapterhouse/ns#`` and are defined inline
in every document that uses them (as Mastodon does with ``toot:``), so no context document
has to be fetched. Every feature adds its terms here; ``tests`` expand our documents with
the offline loader (``federation.jsonld.undefined_terms``) to prove none is left undefined.
"""

from __future__ import annotations

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
NAMESPACE = "https://w3id.org/chapterhouse/ns#"

TERMS: dict[str, object] = {
    "chapterhouse": NAMESPACE,
    "level": "chapterhouse:level",
    "members": {"@id": "chapterhouse:members", "@type": "@id"},
}


def context(*extra: str | dict) -> list:
    """The AS2 context, any extra context URLs or term maps, then our terms."""
    return [AS_CONTEXT, *extra, dict(TERMS)]
