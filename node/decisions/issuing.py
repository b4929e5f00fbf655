"""Issuing a proposal: a C2S Question or Survey with a ``decision`` object (``registry.object_composers``).

The polls room's composers are wrapped: without ``decision`` they run as before. With it,
the node must have linked children (a decision needs a subtree: 422 otherwise); the
question(s) are parsed by the polls room's rules, the policy by :mod:`proposal`, and the
proposal document (the Question, or the Survey with its Questions embedded, so one proof
covers every option), with the terms a room adds to its proposal (:data:`proposal.SIGNED_TERMS`,
kept as the body gives them; anything else of the body is dropped), is signed once with the
node's Ed25519 key (FEP-8b32). In the same
transaction: the proposal is kept, the electorate frozen (:mod:`electorate`), and an
``Offer`` of the signed proposal recorded for each linked child. The Create itself goes to
the followers and is served public; the proposal is no poll of this node (its members vote
on copies), so a ballot sent to it is kept as a reply and never counted.

An Update of a proposal that changes its options, policy, times or signed terms is refused with 422
(``registry.update_guards``).
"""

from __future__ import annotations

from datetime import datetime

from federation.proofs import add_proof
from node.branches import link_store
from node.core import objects, publish, vocabulary
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Registry
from node.decisions import documents, electorate, proposal, store
from node.polls import outbound as polls_out
from outbox.compose import Composed, OutboxContext, _addressing, create_of

IMMUTABLE = ("decision", "oneOf", "anyOf", "endTime", "orderedItems", *proposal.SIGNED_TERMS)


def _question_document(ctx, spec, question_id: str, end_time: datetime, addressed: dict, thread: str) -> dict:
    return polls_out.question_document(
        ctx, spec, question_id=question_id, end_time=end_time, addressed=addressed, thread=thread
    )


def _document(ctx: OutboxContext, obj: dict, addressed: dict) -> tuple[dict, datetime]:
    """The unsigned proposal (a Question, or a Survey embedding its Questions) and its endTime."""
    proposal_id = ctx.urls.new_object_id()
    if obj.get("type") == "Survey":
        spec = polls_out.parse_survey(obj, ctx.now)
        items = [
            vocabulary.embedded(
                _question_document(ctx, q, ctx.urls.new_object_id(), spec.end_time, addressed, proposal_id)
            )
            for q in spec.questions
        ]
        document = polls_out.survey_document(ctx, spec, proposal_id, [], addressed)
        document["orderedItems"] = items
        return document, spec.end_time
    end_time = polls_out.parse_end_time(obj.get("endTime"), ctx.now)
    question = polls_out.parse_question(obj)
    return _question_document(ctx, question, proposal_id, end_time, addressed, proposal_id), end_time


def signed_proposal(ctx: OutboxContext, obj: dict, addressed: dict) -> dict:
    document, end_time = _document(ctx, obj, addressed)
    document["@context"] = vocabulary.signed_context()
    document["decision"] = proposal.parse_policy(obj.get("decision"), end_time)
    document.update(proposal.signed_terms(obj))
    keys = ctx.keyring[ctx.username]
    return add_proof(
        document,
        private_key=keys.ed25519_private,
        verification_method=ctx.urls.ed25519_key_id(ctx.username),
        created=ctx.now,
    )


async def send_down(conn: Connection, urls, *, username: str, document: dict, now) -> list[str]:
    """An Offer of ``document`` to every linked child; the children reached."""
    reached = []
    for child in await link_store.children_in_state(conn, "linked"):
        offer = documents.proposal_offer(urls, actor=urls.actor(username), proposal=document, to=child.peer_id, now=now)
        inboxes = [child.delivery_inbox] if child.delivery_inbox else []
        await publish.record(conn, urls=urls, username=username, activity=offer, inboxes=inboxes, now=to_epoch(now))
        reached.append(child.peer_id)
    return reached


async def compose_proposal(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    if not await link_store.count_linked_children(ctx.db.reader):
        raise ApiError(
            422,
            N_("a decision goes down the tree: this node has no linked branches"),
            hint=N_("Link a branch below this node first, on the dashboard's Branch tree panel."),
        )
    addressed = _addressing(ctx, activity, obj)
    document = signed_proposal(ctx, obj, addressed)
    end_time, deadline = proposal.times_of(document)

    async def save(conn: Connection) -> None:
        now = to_epoch(ctx.now)
        await store.insert_proposal(conn, document=document, end_time=end_time, deadline=deadline, via=None, now=now)
        await serve_embedded(conn, ctx, document, now)
        await electorate.freeze(conn, document["id"], ctx.actor_id)
        await send_down(conn, ctx.urls, username=ctx.username, document=document, now=ctx.now)

    return Composed(activity=create_of(ctx, document, addressed), new_object=document, changes=[save])


async def serve_embedded(conn: Connection, ctx: OutboxContext, document: dict, now: float) -> None:
    """A Survey's embedded Questions answer at their own ids too (as the proposal's parts, public)."""
    if document.get("type") != "Survey":
        return
    visibility = objects.visibility_of(document, ctx.urls.followers(ctx.username), ctx.urls.members(ctx.username))
    parts = [({"@context": vocabulary.context(), **q}, "object", visibility) for q in proposal.questions_of(document)]
    await objects.insert_many(conn, parts, author=ctx.username, published=now)


def proposal_or_poll(composer):
    """The polls room's composer, or the proposal's when the object carries ``decision``."""

    async def compose(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
        if "decision" in obj:
            return await compose_proposal(ctx, activity, obj)
        return await composer(ctx, activity, obj)

    return compose


def immutable_proposal(guard):
    """The polls room's guard, and for a proposal: options, policy and times never change."""

    def check(stored: dict, changes: dict) -> None:
        if "decision" in stored:
            for name in IMMUTABLE:
                if name in changes and changes[name] != stored.get(name):
                    raise ApiError(
                        422,
                        N_("a proposal's {name} never changes once it is open", name=name),
                        hint=N_("its proof and every chapter's copy rest on it; issue a new proposal instead"),
                    )
            return
        guard(stored, changes)

    return check


def register(registry: Registry) -> None:
    for kind in ("Question", "Survey"):
        registry.object_composers[kind] = proposal_or_poll(registry.object_composers[kind])
        registry.update_guards[kind] = immutable_proposal(registry.update_guards[kind])
