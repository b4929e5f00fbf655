"""The decisions room's documents: a signed decision document, and the activities that carry them.

Built on the shared vocabulary (``node.core.vocabulary``: the project's JSON-LD context and
``signed_context`` for documents with a FEP-8b32 proof); only the decisions room builds these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from node.core.urls import Urls
from node.core.vocabulary import activity, signed_context


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
