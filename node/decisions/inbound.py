"""Decisions as received: proposals down, tallies and aggregates up, outcomes down, refusals.

- ``Offer`` of a proposal from our linked parent: the issuer's proof is checked before the
  transaction (``registry.preparers["Offer"]``); inside it, the proposal is kept once, this
  level's electorate frozen, an ``Offer`` of the unchanged proposal recorded for each linked
  child, and, when this node is a chapter (no children) or has members, its own copy
  published (``copying``), if the proposal is still open.
- ``Add`` of a ``DecisionTally`` from a linked child (``checking``): counted here or refused
  with a ``Reject`` to the chapter saying why; when counted, forwarded unchanged to our parent
  (unless we issued the proposal). A ``DecisionAggregate`` (a level's own signed sum) is kept
  for the results page. A ``DecisionOutcome`` from our parent, signed by the issuer: kept,
  passed on to our children, and told to our members.
- ``Reject`` of our own tally: the reason is kept with the copy (shown to the admin).
"""

from __future__ import annotations

import logging

from federation import jsonio
from federation.activitystreams import id_of
from inbox.handlers import Handler, InboxContext, PermanentError, PrepareContext
from node.branches import links
from node.core.clock import to_epoch
from node.core.registry import Registry
from node.decisions import checking, copying, electorate, issuing, proposal, sending, store, telling
from node.decisions.telling import outbox_context
from node.membership import members

log = logging.getLogger("chapterhouse.decisions")


async def prepare_offer(pctx: PrepareContext, activity: dict) -> dict:
    document = activity.get("object")
    if not isinstance(document, dict) or "decision" not in document:
        return {}
    error = proposal.shape_error(document) or await proposal.check_signed(pctx.remote_actors, document, pctx.now)
    return {"proposal_error": error}


async def wants_copy(ctx: InboxContext) -> bool:
    if ctx.config.node.level == "chapter" or not await links.count_linked_children(ctx.conn):
        return True
    return await members.count_in_state(ctx.conn, ctx.chapter) > 0


async def on_offer(ctx: InboxContext, activity: dict) -> None:
    document = activity.get("object")
    if "proposal_error" not in ctx.prepared:
        return  # not a proposal: kept in the inbox only
    parent = await links.linked_parent(ctx.conn)
    sender = id_of(activity.get("actor"))
    if parent is None or parent.peer_id != sender:
        raise PermanentError(f"a proposal comes down from our linked parent, not from {sender}")
    if ctx.prepared["proposal_error"] is not None:
        raise PermanentError(f"proposal refused: {ctx.prepared['proposal_error']}")
    end, deadline = proposal.times_of(document)
    now = to_epoch(ctx.now)
    if not await store.insert_proposal(
        ctx.conn, document=document, end_time=end, deadline=deadline, via=sender, now=now
    ):
        return  # known already (redelivered, or an offer through a second path)
    await electorate.freeze(ctx.conn, document["id"], ctx.chapter_id)
    await issuing.send_down(ctx.conn, ctx.urls, username=ctx.chapter, document=document, now=ctx.now)
    if now < end and await wants_copy(ctx):
        copy_id = await copying.publish_copy(ctx.conn, outbox_context(ctx), document)
        log.info("decisions: proposal %s copied here as %s", document["id"], copy_id)
    ctx.queued_deliveries = True


async def on_tally(ctx: InboxContext, activity: dict, tally: dict) -> None:
    prop = await store.get_proposal(ctx.conn, id_of(tally.get("proposal")) or "")
    if prop is None:
        raise PermanentError("a tally of a proposal this node does not know")
    if await links.linked_child(ctx.conn, id_of(activity["actor"])) is None:
        raise PermanentError(f"{id_of(activity['actor'])} is not a linked child of this node")
    origin = id_of(tally["attributedTo"])
    existing = await store.get_tally(ctx.conn, prop.id, origin)
    if existing is not None and jsonio.loads(existing["document"]) == tally:
        return  # the same tally again: counted once
    reason = await checking.refusal(ctx, activity, tally, prop)
    losers: dict[str, list[str]] = {}
    if reason is None:
        reason, losers = await checking.shared_tags(ctx, prop.id, origin, tally)
    await _keep(ctx, activity, prop, tally, reason)
    for loser, tags in losers.items():
        await _withdraw(ctx, prop, loser, checking.earlier_reason(tags, origin))
    if reason is None and not prop.is_issuer:
        parent = await links.linked_parent(ctx.conn)
        if parent is not None:
            await sending.send_document(
                ctx.conn, ctx.urls, ctx.chapter, tally, to=parent.peer_id, inbox=parent.delivery_inbox, now=ctx.now
            )
    ctx.queued_deliveries = True


async def _keep(ctx: InboxContext, activity: dict, prop: store.Proposal, tally: dict, reason: str | None) -> None:
    origin = id_of(tally["attributedTo"])
    check: checking.DocumentCheck = ctx.prepared["decision_check"]
    existing = await store.get_tally(ctx.conn, prop.id, origin)
    if reason is None or existing is None or existing["status"] != "reported":
        await store.put_tally(
            ctx.conn,
            prop.id,
            origin=origin,
            kind="tally",
            via_child=id_of(activity["actor"]),
            status="reported" if reason is None else "rejected",
            reason=reason,
            document=tally,
            inbox=check.inbox,
            now=to_epoch(ctx.now),
        )
    if reason is not None:
        log.warning("decisions: tally of %s on %s rejected: %s", origin, prop.id, reason)
        await sending.reject(
            ctx.conn, ctx.urls, ctx.chapter, activity, to=origin, inbox=check.inbox, reason=reason, now=ctx.now
        )


async def _withdraw(ctx: InboxContext, prop: store.Proposal, loser: str, reason: str) -> None:
    """A tally counted before loses voters to an earlier membership: it is rejected, and told."""
    row = await store.get_tally(ctx.conn, prop.id, loser)
    await store.set_tally_rejected(ctx.conn, prop.id, loser, reason)
    await store.drop_tags(ctx.conn, prop.id, loser)
    answered = {"type": "Add", "actor": ctx.chapter_id, "object": jsonio.loads(row["document"])}
    await sending.reject(
        ctx.conn, ctx.urls, ctx.chapter, answered, to=loser, inbox=row["inbox"], reason=reason, now=ctx.now
    )


async def on_aggregate(ctx: InboxContext, activity: dict, aggregate: dict) -> None:
    prop = await store.get_proposal(ctx.conn, id_of(aggregate.get("proposal")) or "")
    sender = id_of(activity["actor"])
    if prop is None or await links.linked_child(ctx.conn, sender) is None:
        raise PermanentError("an aggregate of an unknown proposal, or not from a linked child")
    check: checking.DocumentCheck = ctx.prepared["decision_check"]
    status = "reported" if check.error is None else "rejected"
    await store.put_tally(
        ctx.conn,
        prop.id,
        origin=id_of(aggregate["attributedTo"]),
        kind="aggregate",
        via_child=sender,
        status=status,
        reason=check.error,
        document=aggregate,
        inbox=None,
        now=to_epoch(ctx.now),
    )


async def on_outcome(ctx: InboxContext, activity: dict, outcome: dict) -> None:
    prop = await store.get_proposal(ctx.conn, id_of(outcome.get("proposal")) or "")
    check: checking.DocumentCheck = ctx.prepared["decision_check"]
    parent = await links.linked_parent(ctx.conn)
    if prop is None or parent is None or parent.peer_id != id_of(activity["actor"]):
        raise PermanentError("an outcome of an unknown proposal, or not from our parent")
    if check.error is not None or id_of(outcome.get("attributedTo")) != prop.issuer:
        raise PermanentError(f"outcome refused: {check.error or 'not signed by the issuer'}")
    if not await store.set_outcome(ctx.conn, prop.id, outcome):
        return  # known already
    for child in await links.children_in_state(ctx.conn, "linked"):
        await sending.send_document(
            ctx.conn, ctx.urls, ctx.chapter, outcome, to=child.peer_id, inbox=child.delivery_inbox, now=ctx.now
        )
    await telling.tell_members(ctx.conn, outbox_context(ctx), prop, outcome)
    ctx.queued_deliveries = True


def adding(inner: Handler) -> Handler:
    async def apply(ctx: InboxContext, activity: dict) -> None:
        document = checking.decision_document(activity)
        if document is None:
            await inner.apply(ctx, activity)
        elif document["type"] == "DecisionTally":
            await on_tally(ctx, activity, document)
        elif document["type"] == "DecisionAggregate":
            await on_aggregate(ctx, activity, document)
        else:
            await on_outcome(ctx, activity, document)

    return Handler(apply, needs_sender=inner.needs_sender)


def rejecting(inner: Handler) -> Handler:
    """A Reject of a tally of ours (the Add that carried it, embedded): its reason is kept."""

    async def apply(ctx: InboxContext, activity: dict) -> None:
        answered = activity.get("object")
        tally = answered.get("object") if isinstance(answered, dict) else None
        if not isinstance(tally, dict) or tally.get("type") != "DecisionTally":
            await inner.apply(ctx, activity)
            return
        if id_of(tally.get("attributedTo")) != ctx.chapter_id:
            return
        reason = activity.get("content") if isinstance(activity.get("content"), str) else "no reason given"
        proposal_id = id_of(tally.get("proposal")) or ""
        await store.mark_copy_rejected(ctx.conn, proposal_id, reason[:2000])
        log.warning("decisions: %s rejected our tally: %s", id_of(activity.get("actor")), reason)
        await recount(ctx, proposal_id, checking.lost_tags(reason))

    return Handler(apply, needs_sender=inner.needs_sender)


async def recount(ctx: InboxContext, proposal_id: str, tags: list[str]) -> None:
    """Voters an earlier membership elsewhere holds: their ballots are withdrawn and the tally sent again."""
    withdrawn = 0
    for tag in tags:
        member = await store.member_of_tag(ctx.conn, proposal_id, tag)
        if member is not None:
            withdrawn += await store.withdraw_voter(ctx.conn, proposal_id, member, checking.EARLIER)
    if withdrawn:
        await store.resend_tally(ctx.conn, proposal_id)
        log.info(
            "decisions: %d ballots withdrawn from %s (%s); the tally goes again",
            withdrawn,
            proposal_id,
            checking.EARLIER,
        )


def register(registry: Registry) -> None:
    registry.inbound["Offer"] = Handler(on_offer)
    registry.inbound["Add"] = adding(registry.inbound["Add"])
    registry.inbound["Reject"] = rejecting(registry.inbound["Reject"])
    registry.before("Offer", prepare_offer)
    registry.before("Add", checking.prepare)
