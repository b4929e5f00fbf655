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


# --- the branch tree (node/branches) --------------------------------------------------------


def place(name: str) -> dict:
    """A place name as an AS2 ``Place`` (a node's ``location``)."""
    return {"type": "Place", "name": name}


def link_request(urls: Urls, *, actor: str, parent: str, now: datetime) -> dict:
    """A child's ``Join`` of its parent's Group actor: a request to be linked below it."""
    return activity("Join", urls, actor=actor, now=now, object=parent, context_value=context(), to=[parent])


def unlink(kind: str, urls: Urls, *, actor: str, peer: str, now: datetime, target: str | None = None) -> dict:
    """``Leave`` of the parent (sent by the child) or ``Remove`` of a child from ``target`` (our children)."""
    fields: dict[str, Any] = {"to": [peer]} if target is None else {"target": target, "to": [peer]}
    return activity(kind, urls, actor=actor, now=now, object=peer, context_value=context(), **fields)


def refusal(urls: Urls, *, actor: str, answered: dict, to: str, reason: str, now: datetime) -> dict:
    """A ``Reject`` of a received activity (a link request) whose ``content`` says why."""
    return activity(
        "Reject", urls, actor=actor, now=now, object=answered, context_value=context(), to=[to], content=reason
    )


def branch_report(*, actor: str, facts: dict, published: str) -> dict:
    """A node's statement of its facts (``BranchReport``), to be signed with its Ed25519 key.

    ``facts``: level, name, location (a place name), founded, memberCount, and where it hangs:
    parent, linked (when it was linked there). It has no id of its own: the newest per
    ``attributedTo`` is what counts, and it travels inside an ``Add`` to the parent's children.
    """
    report: dict[str, Any] = {
        "@context": context("https://w3id.org/security/data-integrity/v2"),
        "type": "BranchReport",
        "attributedTo": actor,
    }
    for name in ("level", "name", "founded", "memberCount", "parent", "linked"):
        if facts.get(name) not in (None, ""):
            report[name] = facts[name]
    if facts.get("location"):
        report["location"] = place(facts["location"])
    report["published"] = published  # the caller's precision (milliseconds: reports of one second still order)
    return report


def report_delivery(urls: Urls, *, actor: str, report: dict, target: str, to: str, now: datetime) -> dict:
    """``Add`` of a signed report (ours, or one from our subtree, unchanged) to the parent's children."""
    add = activity("Add", urls, actor=actor, now=now, context_value=context(), target=target, to=[to])
    add["object"] = report  # unchanged, its own @context included: the proof covers it
    return add


def subtree_removal(urls: Urls, *, actor: str, removed: str, target: str, to: str, now: datetime) -> dict:
    """``Remove`` of a node from our children, told to our parent so it drops that branch's reports."""
    return activity(
        "Remove", urls, actor=actor, now=now, object=removed, context_value=context(), target=target, to=[to]
    )


# --- decisions (node/decisions) -------------------------------------------------------------

PROOF_CONTEXT = "https://w3id.org/security/data-integrity/v2"


def signed_context() -> list:
    """The context of a document that carries a FEP-8b32 proof (a proposal, a tally, an outcome)."""
    return context(PROOF_CONTEXT)


def decision_document(kind: str, *, actor: str, proposal: str, published: str, **fields: Any) -> dict:
    """A decision document of ``proposal`` (``DecisionRoll``, ``DecisionTally``, ``DecisionAggregate``,
    ``DecisionExclusions``, ``DecisionOutcome``, ``DecisionRefusal``), to be signed."""
    return {
        "@context": signed_context(),
        "type": kind,
        "attributedTo": actor,
        "proposal": proposal,
        **fields,
        "published": published,
    }


def proposal_offer(urls: Urls, *, actor: str, proposal: dict, to: str, now: datetime) -> dict:
    """``Offer`` of a signed proposal to a child (the issuer's, or passed on unchanged by a level between)."""
    offer = activity("Offer", urls, actor=actor, now=now, context_value=signed_context(), to=[to])
    offer["object"] = proposal  # unchanged, its own @context included: the proof covers it
    return offer


def decision_delivery(urls: Urls, *, actor: str, document: dict, proposal: str, to: str, now: datetime) -> dict:
    """``Add`` of a signed tally, aggregate or outcome to the proposal (up to a parent, or down to a child)."""
    add = activity("Add", urls, actor=actor, now=now, context_value=signed_context(), target=proposal, to=[to])
    add["object"] = document  # unchanged: the proof covers it
    return add


def relay_announce(
    urls: Urls, *, actor: str, relayed: str | dict, key: str, followers: str, audience: str, now: datetime
) -> dict:
    """The one ``Announce`` a node relays a post from its subtree with: of the post's id (Mastodon
    boosts it, fetching it from its origin) or of the activity itself (FEP-1b12 followers, and
    the parent), with ``audience`` the origin chapter. Its id derives from ``key`` (the post's or
    the relayed activity's id), so relaying twice is one row."""
    terms = AS_CONTEXT if isinstance(relayed, str) else context()  # an embedded activity may use our terms
    built = activity(
        "Announce",
        urls,
        actor=actor,
        now=now,
        object=relayed,
        context_value=terms,
        to=[PUBLIC],
        cc=[followers],
        audience=audience,
    )
    built["id"] = urls.relayed_activity_id("Announce", key)
    return built
