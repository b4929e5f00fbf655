"""The branch tree's documents and activities: link requests, unlinking, signed reports, relays.

Built on the shared vocabulary (``node.core.vocabulary``: the project's JSON-LD context, whose
terms every room uses, and ``activity``); only the branches room builds these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from node.core.urls import Urls
from node.core.vocabulary import AS_CONTEXT, PUBLIC, activity, context, place


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
