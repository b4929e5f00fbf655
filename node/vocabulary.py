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
    # membership (node/members.py): a member's role, on the Add that admits them or changes it
    "role": "chapterhouse:role",
    # polls and surveys (node/polls.py): Mastodon's votersCount, our Survey and hideResults
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "Survey": "chapterhouse:Survey",
    "hideResults": "chapterhouse:hideResults",
    # content (node/posts.py, node/minutes.py, node/events.py): post kinds, the minutes' structure,
    # event answer counts (Mobilizon's participantCount, and ours for the other answers)
    "postKind": "chapterhouse:postKind",
    # ActivityPub's likes and shares (as: terms the bundled AS2 context does not define)
    "likes": {"@id": "as:likes", "@type": "@id"},
    "shares": {"@id": "as:shares", "@type": "@id"},
    "meetingDate": {"@id": "chapterhouse:meetingDate", "@type": "http://www.w3.org/2001/XMLSchema#date"},
    "attendees": {"@id": "chapterhouse:attendees", "@container": "@list"},
    "agenda": {"@id": "chapterhouse:agenda", "@container": "@list"},
    "decisions": {"@id": "chapterhouse:decisions", "@container": "@list"},
    "Decision": "chapterhouse:Decision",
    "vote": {"@id": "chapterhouse:vote", "@type": "@id"},
    "mz": "https://joinmobilizon.org/ns#",
    "participantCount": "mz:participantCount",
    "notGoingCount": "chapterhouse:notGoingCount",
    "maybeCount": "chapterhouse:maybeCount",
    "schema": "http://schema.org/",
    "PostalAddress": "schema:PostalAddress",
    "address": "schema:address",
    "streetAddress": "schema:streetAddress",
    "addressLocality": "schema:addressLocality",
    "postalCode": "schema:postalCode",
    "addressCountry": "schema:addressCountry",
}


def context(*extra: str | dict) -> list:
    """The AS2 context, any extra context URLs or term maps, then our terms."""
    return [AS_CONTEXT, *extra, dict(TERMS)]
