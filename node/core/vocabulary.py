"""The node's vocabulary: the one ``@context``, the address fields, and every activity it sends.

Every activity the node publishes is built here (:func:`activity` and the named builders:
:func:`answer`, :func:`create`, :func:`update`, :func:`delete`, :func:`announce`, ...), so
ids, ``published``, the ``@context`` and embedded objects (never with their own
``@context``) are made one way. Addressing has three lists: :data:`ADDRESS_FIELDS`, where an
activity says who it is for (``bto`` / ``bcc`` for delivery only, never served);
:data:`DELIVERY_FIELDS`, where the node looks for recipients (``audience`` too), which are
also the fields copied between a Create and its object (ActivityPub 6.2); and
:data:`SERVED_ADDRESS_FIELDS`, those that stay in what is served (all but ``bto`` / ``bcc``).

Chapterhouse terms live under ``https://w3id.org/chapterhouse/ns#`` and are defined inline
in every document that uses them (as Mastodon does with ``toot:``), so no context document
has to be fetched. Every feature adds its terms here; ``tests`` expand our documents with
the offline loader (``federation.jsonld.undefined_terms``) to prove none is left undefined.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from federation.activitystreams import AS_CONTEXT, PUBLIC
from node.core.clock import iso

if TYPE_CHECKING:  # pragma: no cover
    from node.core.urls import Urls

__all__ = ["ADDRESS_FIELDS", "AS_CONTEXT", "DELIVERY_FIELDS", "PUBLIC", "activity", "answer", "context", "embedded"]

ADDRESS_FIELDS = ("to", "cc", "bto", "bcc")
SERVED_ADDRESS_FIELDS = ("to", "cc", "audience")
DELIVERY_FIELDS = (*ADDRESS_FIELDS, "audience")
NAMESPACE = "https://w3id.org/chapterhouse/ns#"

TERMS: dict[str, object] = {
    "chapterhouse": NAMESPACE,
    "level": "chapterhouse:level",
    "members": {"@id": "chapterhouse:members", "@type": "@id"},
    # membership (node/membership/members.py): a member's role, on the Add that admits them or changes it
    "role": "chapterhouse:role",
    # polls and surveys (node/polls/outbound.py, node/polls/model.py): Mastodon's votersCount, our Survey and hideResults
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "Survey": "chapterhouse:Survey",
    "hideResults": "chapterhouse:hideResults",
    # content (node/content/posts.py, node/content/minutes.py, node/content/events.py): post kinds, the minutes' structure,
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
    # the branch tree (node/branches): a node's place in it and the signed reports that travel up
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "founded": {"@id": "chapterhouse:founded", "@type": "xsd:date"},
    "parent": {"@id": "chapterhouse:parent", "@type": "@id"},
    "children": {"@id": "chapterhouse:children", "@type": "@id"},
    "BranchReport": "chapterhouse:BranchReport",
    "memberCount": {"@id": "chapterhouse:memberCount", "@type": "xsd:nonNegativeInteger"},
    "linked": {"@id": "chapterhouse:linked", "@type": "xsd:dateTime"},
    # decisions (node/decisions): the issuer's policy, copies naming the proposal, signed tallies and outcomes
    "decision": {"@id": "chapterhouse:decision", "@type": "@json"},
    "proposal": {"@id": "chapterhouse:proposal", "@type": "@id"},
    "DecisionTally": "chapterhouse:DecisionTally",
    "DecisionAggregate": "chapterhouse:DecisionAggregate",
    "DecisionOutcome": "chapterhouse:DecisionOutcome",
    "DecisionRoll": "chapterhouse:DecisionRoll",
    "DecisionExclusions": "chapterhouse:DecisionExclusions",
    "DecisionRefusal": "chapterhouse:DecisionRefusal",
    "commitments": {"@id": "chapterhouse:commitments", "@type": "@json"},
    "roll": {"@id": "chapterhouse:roll", "@type": "@id"},
    "sequence": {"@id": "chapterhouse:sequence", "@type": "xsd:nonNegativeInteger"},
    "exclusions": {"@id": "chapterhouse:exclusions", "@type": "xsd:nonNegativeInteger"},
    "excludedMembers": {"@id": "chapterhouse:excludedMembers", "@type": "xsd:nonNegativeInteger"},
    "excluded": {"@id": "chapterhouse:excluded", "@type": "@json"},
    "final": {"@id": "chapterhouse:final", "@type": "xsd:boolean"},
    "refused": "chapterhouse:refused",
    "reason": "chapterhouse:reason",
    "questions": {"@id": "chapterhouse:questions", "@type": "@json"},
    "voters": {"@id": "chapterhouse:voters", "@type": "xsd:nonNegativeInteger"},
    "rollSize": {"@id": "chapterhouse:rollSize", "@type": "xsd:nonNegativeInteger"},
    "rollHash": "chapterhouse:rollHash",
    "merkleRoot": "chapterhouse:merkleRoot",
    "leaves": {"@id": "chapterhouse:leaves", "@type": "@id"},
    "result": {"@id": "chapterhouse:result", "@type": "@json"},
    # projects (node/projects): a node's projects collection, a project's drafts, the default they are voted against
    "projects": {"@id": "chapterhouse:projects", "@type": "@id"},
    "drafts": {"@id": "chapterhouse:drafts", "@type": "@id"},
    "defaultOption": "chapterhouse:defaultOption",
    # a project's vote (node/projects/voting.py): the signed Survey says which project it decides, the
    # default, its drafts in the order of its questions and the rule applied (node/projects/outcome.py), so every level
    # can say and check what the outcome means for the project
    "project": {"@id": "chapterhouse:project", "@type": "@json"},
}


def with_language(document: dict, language: str) -> dict:
    """``document`` with ``contentMap`` (and ``summaryMap``) in the node's language, so Mastodon shows it right.

    ``language`` is the config's Babel code ("zh_Hans"); the map's key is its BCP 47 tag ("zh-Hans").
    """
    tag = language.replace("_", "-")
    for field, mapped in (("content", "contentMap"), ("summary", "summaryMap")):
        if isinstance(document.get(field), str) and document[field]:
            document[mapped] = {tag: document[field]}
        else:
            document.pop(mapped, None)
    return document


def context(*extra: str | dict) -> list:
    """The AS2 context, any extra context URLs or term maps, then our terms."""
    return [AS_CONTEXT, *extra, dict(TERMS)]


def embedded(document: dict) -> dict:
    """A document as embedded in another: without its own ``@context``."""
    return {key: value for key, value in document.items() if key != "@context"}


def served_addressing(addressing: dict) -> dict:
    """The addressing as served: ``bto`` and ``bcc`` are for delivery only, never served."""
    return {key: value for key, value in addressing.items() if key in SERVED_ADDRESS_FIELDS}


def activity(
    kind: str,
    urls: Urls,
    *,
    actor: str,
    now: datetime,
    object: Any = None,
    context_value: Any = AS_CONTEXT,
    **fields: Any,
) -> dict:
    """An activity of ``kind`` by ``actor`` with a new id; an embedded object loses its @context."""
    built: dict = {"@context": context_value, "id": urls.new_activity_id(), "type": kind, "actor": actor}
    if object is not None:
        built["object"] = embedded(object) if isinstance(object, dict) else object
    built.update(fields)
    built.setdefault("published", iso(now))
    return built


def answer(kind: str, urls: Urls, *, actor: str, answered: dict, to: str, now: datetime) -> dict:
    """Accept / Reject of a received activity (a Follow, a Join), embedding it whole as Mastodon expects."""
    return activity(kind, urls, actor=actor, now=now, object=answered, to=[to])


def announce(urls: Urls, *, actor: str, object_id: str, followers: str, now: datetime, **fields: Any) -> dict:
    """A boost of ``object_id`` to the public and the actor's followers (Mastodon fetches the object)."""
    return activity("Announce", urls, actor=actor, now=now, object=object_id, to=[PUBLIC], cc=[followers], **fields)


# --- what several rooms build on -----------------------------------------------------------


def place(name: str) -> dict:
    """A place name as an AS2 ``Place`` (a node's ``location``)."""
    return {"type": "Place", "name": name}


PROOF_CONTEXT = "https://w3id.org/security/data-integrity/v2"


def signed_context() -> list:
    """The context of a document that carries a FEP-8b32 proof (a proposal, a tally, an outcome)."""
    return context(PROOF_CONTEXT)
