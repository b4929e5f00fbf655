"""Decisions as received: proposals and exclusions down, rolls and tallies up, outcomes down, refusals.

Each step first checks the sender's standing from stored state (``checking.standing``) and
only then does network work (before the transaction, in a ``registry.preparers`` step);
inside the transaction it checks again and writes. Nothing a stranger sends changes a row.

- ``Offer`` of a proposal, only from our linked parent: it must meet this node's own
  composer's rules (``proposal.shape_error``: so one Offer makes at most 51 Creates here) and
  carry its issuer's proof, the issuer being the parent or an ancestor. Inside: kept once,
  this level's electorate frozen, passed on unchanged to each linked child, and, where this
  node has members, its own copy published and its roll frozen (``copying``) if still open.
- ``Add`` of a document (:func:`on_document`): a ``DecisionRoll`` (kept once, before the
  close; at the issuer its commitments are kept and the exclusions worked out again by the
  worker; elsewhere passed up unchanged), a ``DecisionTally`` (counted with the figures
  recounted from its leaves, or refused with the reason, which the worker tells the chapter
  in a signed refusal; passed up unchanged when counted), a ``DecisionAggregate`` (kept for
  the results page), ``DecisionExclusions`` (kept, passed down; at a chapter applied to its
  roll, its members told, its tally rebuilt if it was sent) and ``DecisionOutcome`` (kept,
  passed down, told to members).
- ``Reject`` carrying a signed ``DecisionRefusal`` of the roll or tally we sent last, from the
  parent the proposal came from or its issuer: the reason is shown to the admin. It changes no
  count. A refusal from a linked child (of a proposal or exclusions we sent down) is kept in
  the inbox for the admin and changes nothing.

Whatever a linked peer brings that is refused (on its standing, its proof or its content)
is answered: the refusal is recorded with the item (:func:`refused`, or in the transaction
for a refused roll or tally) and the worker sends the peer a signed ``DecisionRefusal`` naming
the document and why. A stranger's document is refused without an answer, so no one can
make a node write to a third party.
"""

from __future__ import annotations

import logging

from federation import jsonio
from federation.activitystreams import actor_of, id_of
from inbox.handlers import Handler, InboxContext, PermanentError, PrepareContext
from node.branches import ancestry, link_store
from node.core.clock import to_epoch
from node.core.registry import Registry
from node.decisions import (
    checking,
    copy_store,
    copying,
    electorate,
    issuing,
    proposal,
    received,
    rolls,
    sending,
    store,
    telling,
)
from node.decisions.telling import authoring

log = logging.getLogger("chapterhouse.decisions")


async def prepare_offer(pctx: PrepareContext, activity: dict) -> dict:
    document = activity.get("object")
    if not isinstance(document, dict) or "decision" not in document:
        return {}
    parent, sender = await link_store.linked_parent(pctx.reader), id_of(activity.get("actor"))
    if parent is None or parent.peer_id != sender:
        return {"proposal_error": f"a proposal comes down from our linked parent, not from {sender}"}
    error = proposal.shape_error(document)
    if error is None:
        issuer = id_of(document.get("attributedTo"))
        above = await ancestry.ancestors(pctx.remote_actors, sender, local=pctx.chapter_id)
        if issuer not in above:
            error = f"the proposal's issuer {issuer} is neither our parent nor above it"
    error = error or await proposal.check_signed(pctx.remote_actors, document, pctx.now)
    return {"proposal_error": error}


async def wants_copy(ctx: InboxContext) -> bool:
    """Members vote in their chapters: only a chapter (or a node with no children) copies a proposal.
    A region's own members are in no electorate, so a copy there would take ballots that never count."""
    return ctx.config.node.level == "chapter" or not await link_store.count_linked_children(ctx.conn)


async def on_offer(ctx: InboxContext, activity: dict) -> None:
    document = activity.get("object")
    if "proposal_error" not in ctx.prepared or not isinstance(document, dict):
        return  # not a proposal: kept in the inbox only
    parent = await link_store.linked_parent(ctx.conn)
    sender = id_of(activity.get("actor"))
    if parent is None or parent.peer_id != sender:
        raise PermanentError(f"a proposal comes down from our linked parent, not from {sender}")
    if ctx.prepared["proposal_error"] is not None:
        raise await refused(ctx, activity, document, f"proposal refused: {ctx.prepared['proposal_error']}")
    end, deadline = proposal.times_of(document)
    if not await store.insert_proposal(
        ctx.conn, document=document, end_time=end, deadline=deadline, via=sender, now=to_epoch(ctx.now)
    ):
        return  # known already (redelivered, or an offer through a second path)
    await electorate.freeze(ctx.conn, document["id"], ctx.chapter_id)
    await issuing.send_down(ctx.conn, ctx.urls, username=ctx.chapter, document=document, now=ctx.now)
    if ctx.received_at < end and await wants_copy(ctx):
        copy_id = await copying.publish_copy(ctx.conn, authoring(ctx), document)
        log.info("decisions: proposal %s copied here as %s", document["id"], copy_id)
    ctx.queued_deliveries = True


async def _pass_up(ctx: InboxContext, prop: store.Proposal, document: dict) -> None:
    if prop.is_issuer:
        return
    parent = await link_store.linked_parent(ctx.conn)
    if parent is not None and parent.peer_id == prop.via:
        await sending.send_document(
            ctx.conn, ctx.urls, ctx.chapter, document, to=parent.peer_id, inbox=parent.delivery_inbox, now=ctx.now
        )
        ctx.queued_deliveries = True


async def _pass_down(ctx: InboxContext, document: dict) -> None:
    for child in await link_store.children_in_state(ctx.conn, "linked"):
        await sending.send_document(
            ctx.conn, ctx.urls, ctx.chapter, document, to=child.peer_id, inbox=child.delivery_inbox, now=ctx.now
        )
        ctx.queued_deliveries = True


async def on_roll(ctx: InboxContext, prop: store.Proposal, activity: dict, roll: dict) -> None:
    origin = id_of(roll["attributedTo"]) or ""
    kept = await received.roll_of(ctx.conn, prop.id, origin)
    if kept is not None and jsonio.loads(kept["document"]) == roll:
        return  # the same roll again (redelivered, or through a second path): kept once, nobody told
    reason = await checking.roll_refusal(ctx, prop, roll, ctx.received_at)
    if reason is not None:
        log.warning("decisions: roll of %s on %s refused: %s", origin, prop.id, reason)
        await _refuse(ctx, activity, roll, reason)
        return
    entries = rolls.entries_of(roll)
    assert not isinstance(entries, str)  # roll_refusal checked it
    await received.insert_roll(
        ctx.conn,
        prop.id,
        chapter=origin,
        via_child=actor_of(activity) or "",
        size=len(entries),
        document=roll,
        now=to_epoch(ctx.now),
    )
    if prop.is_issuer:
        await received.insert_roll_entries(ctx.conn, prop.id, origin, entries)
        await store.mark_exclusions_due(ctx.conn, prop.id)
    # a tally that overtook this roll (``checking``: TryLater) comes through the same child: retried now
    await ctx.retry_waiting(actor_of(activity) or "", "Add")
    await _pass_up(ctx, prop, roll)


async def on_tally(ctx: InboxContext, prop: store.Proposal, activity: dict, tally: dict) -> None:
    origin = id_of(tally["attributedTo"]) or ""
    check: checking.DocumentCheck = ctx.prepared["decision_check"]
    existing = await received.get_tally(ctx.conn, prop.id, origin)
    if existing is not None and jsonio.loads(existing["document"]) == tally:
        return  # the same tally again: counted once
    reason = await checking.tally_refusal(ctx, prop, tally, ctx.received_at)
    if reason is not None and existing is not None and existing["status"] == "reported":
        raise PermanentError(f"the tally of {origin} is refused: {reason}")  # the counted one stays
    roll = await received.roll_of(ctx.conn, prop.id, origin)
    await received.put_tally(
        ctx.conn,
        prop.id,
        chapter=origin,
        via_child=actor_of(activity) or "",
        reason=reason,
        document=tally,
        recount=check.recount.as_json() if reason is None and check.recount is not None else None,
        roll=int(tally["rollSize"]) if reason is None and roll is not None else None,
        inbox=check.inbox,
        now=to_epoch(ctx.now),
    )
    if reason is not None:
        log.warning("decisions: tally of %s on %s refused: %s", origin, prop.id, reason)
        await _refuse(ctx, activity, tally, reason)
        return
    await _pass_up(ctx, prop, tally)


async def _refuse(ctx: InboxContext, activity: dict, document: dict, reason: str) -> None:
    """Keep why a chapter's roll or tally is refused here; the worker tells the chapter, signed."""
    check: checking.DocumentCheck = ctx.prepared["decision_check"]
    chapter = id_of(document["attributedTo"]) or ""
    await _refusal(checking.proposal_of(document), chapter, check.inbox, activity, document, reason, ctx.now)(ctx.conn)


def _refusal(
    proposal_id: str, author: str, inbox: str | None, answered: dict, document: dict, reason: str, now, peer=None
):
    """What records a refusal of ``author``'s document for the worker to send, signed, to ``peer`` (the
    linked peer that brought it; the author itself by default)."""

    async def record(conn) -> None:
        await received.add_refusal(
            conn,
            proposal_id,
            peer=peer,
            chapter=author,
            refused=sending.proof_value_of(document) or "",
            kind=str(document.get("type", "")),
            answered=answered,
            reason=reason,
            inbox=inbox,
            now=to_epoch(now),
        )

    return record


async def _peer_inbox(ctx: InboxContext, sender: str) -> str | None:
    """Where ``sender`` is told why, when it is a linked child or our linked parent (a stranger is not told)."""
    child = await link_store.linked_child(ctx.conn, sender)
    if child is not None:
        return child.delivery_inbox
    parent = await link_store.linked_parent(ctx.conn)
    return parent.delivery_inbox if parent is not None and parent.peer_id == sender else None


async def refused(ctx: InboxContext, activity: dict, document: dict, reason: str) -> PermanentError:
    """The item's end: dead with ``reason``, and a linked peer that sent it told why (signed, by the worker)."""
    sender = id_of(activity.get("actor")) or ""
    inbox = await _peer_inbox(ctx, sender)
    proposal_id = checking.proposal_of(document) or str(document.get("id", ""))
    author = id_of(document.get("attributedTo")) or sender
    answer = _refusal(proposal_id, author, inbox, activity, document, reason, ctx.now, peer=sender) if inbox else None
    return PermanentError(reason, answer=answer)


async def on_aggregate(ctx: InboxContext, prop: store.Proposal, activity: dict, aggregate: dict) -> None:
    await received.put_aggregate(
        ctx.conn, prop.id, id_of(aggregate["attributedTo"]) or "", aggregate, to_epoch(ctx.now)
    )


async def on_exclusions(ctx: InboxContext, prop: store.Proposal, activity: dict, document: dict) -> None:
    excluded = rolls.exclusions_of(document)
    if isinstance(excluded, str):
        raise PermanentError(f"exclusions refused: {excluded}")
    if not await received.insert_exclusions(ctx.conn, prop.id, document["sequence"], document, to_epoch(ctx.now)):
        return  # known already
    latest = await received.exclusions(ctx.conn, prop.id)
    if latest is not None and latest["sequence"] == document["sequence"]:
        await apply_to_copy(ctx, prop, excluded.get(ctx.chapter_id, []))
    await _pass_down(ctx, document)


async def apply_to_copy(ctx: InboxContext, prop: store.Proposal, lost: list[str]) -> None:
    """This chapter's roll less the members counted elsewhere; they are told; a sent tally is rebuilt."""
    copy = await copy_store.copy_of(ctx.conn, prop.id)
    if copy is None:
        return
    before = await copy_store.excluded_count(ctx.conn, prop.id)
    newly = await copy_store.apply_exclusions(ctx.conn, prop.id, lost, "counted in another chapter")
    ctx.once_per_batch.forget(("decision roll", prop.id))
    if newly:
        await telling.tell_excluded(ctx.conn, authoring(ctx), prop.id, newly)
        ctx.queued_deliveries = True
    changed = bool(newly) or before != await copy_store.excluded_count(ctx.conn, prop.id)
    if changed and copy["state"] == "tallied":
        await copy_store.resend_tally(ctx.conn, prop.id)


async def on_outcome(ctx: InboxContext, prop: store.Proposal, activity: dict, outcome: dict) -> None:
    if not await store.set_outcome(ctx.conn, prop.id, outcome):
        return  # known already
    await _pass_down(ctx, outcome)
    await telling.tell_members(ctx.conn, authoring(ctx), prop, outcome)
    ctx.queued_deliveries = True


def with_documents(inner: Handler) -> Handler:
    """The ``Add`` step: a decision document goes to its own step, after its standing and proof are checked."""
    steps = {
        "DecisionRoll": on_roll,
        "DecisionTally": on_tally,
        "DecisionAggregate": on_aggregate,
        "DecisionExclusions": on_exclusions,
        "DecisionOutcome": on_outcome,
    }

    async def apply(ctx: InboxContext, activity: dict) -> None:
        document = checking.decision_document(activity)
        if document is None:
            await inner.apply(ctx, activity)
            return
        prop = await store.get_proposal(ctx.conn, checking.proposal_of(document))
        why = await checking.standing(ctx.conn, prop, document, id_of(activity.get("actor")))
        check: checking.DocumentCheck | None = ctx.prepared.get("decision_check")
        why = why or (check.error if check is not None else "the document was not checked")
        if why is not None or prop is None:
            raise await refused(ctx, activity, document, f"{document['type']} refused: {why}")
        await steps[document["type"]](ctx, prop, activity, document)

    return Handler(apply, needs_sender=inner.needs_sender)


async def prepare_refusal(pctx: PrepareContext, activity: dict) -> dict:
    refusal = activity.get("result")
    if not isinstance(refusal, dict) or refusal.get("type") != "DecisionRefusal":
        return {}
    prop = await store.get_proposal(pctx.reader, id_of(refusal.get("proposal")) or "")
    sender = id_of(activity.get("actor")) or ""
    above = prop is not None and sender in (prop.via, prop.issuer)
    below = prop is not None and await link_store.linked_child(pctx.reader, sender) is not None
    if not (above or below) or id_of(refusal.get("attributedTo")) != sender:
        return {
            "refusal_error": "a refusal comes from the parent the proposal came from, its issuer, or a linked child"
        }
    return {"refusal_error": await proposal.check_signed(pctx.remote_actors, refusal, pctx.now)}


def with_refusals(inner: Handler) -> Handler:
    """A ``Reject`` carrying a signed ``DecisionRefusal``: of our roll or tally (from the parent or the
    issuer), its reason kept for the admin; of what we sent down (from a linked child), logged."""

    async def apply(ctx: InboxContext, activity: dict) -> None:
        if "refusal_error" not in ctx.prepared:
            await inner.apply(ctx, activity)
            return
        if ctx.prepared["refusal_error"] is not None:
            raise PermanentError(f"refusal ignored: {ctx.prepared['refusal_error']}")
        refusal, sender = activity["result"], id_of(activity.get("actor")) or ""
        proposal_id = id_of(refusal.get("proposal")) or ""
        if await link_store.linked_child(ctx.conn, sender) is not None:  # a child refused what we sent down
            log.warning(
                "decisions: the child %s refused a document of %s: %s", sender, proposal_id, refusal.get("reason")
            )
            return  # kept in the inbox for the admin to read; it changes nothing here
        copy = await copy_store.copy_of(ctx.conn, proposal_id)
        sent = {sending.proof_value(copy[name]) for name in ("roll", "tally")} - {None} if copy is not None else set()
        if refusal.get("refused") not in sent:
            raise PermanentError("refusal ignored: it does not answer the roll or the tally this node sent last")
        reason = refusal.get("reason") if isinstance(refusal.get("reason"), str) else "no reason given"
        # the tally's refusal is what the copy shows: a roll's, arriving after it (both are told at
        # once when both came too late, and deliveries may cross), does not hide it
        if refusal.get("refused") == sending.proof_value(copy["tally"]) or not copy["rejected"]:
            await copy_store.mark_copy_refused(ctx.conn, proposal_id, reason[:2000])
        log.warning(
            "decisions: %s refused our roll or tally of %s: %s", id_of(activity.get("actor")), proposal_id, reason
        )

    return Handler(apply, needs_sender=inner.needs_sender)


def register(registry: Registry) -> None:
    registry.inbound["Offer"] = Handler(on_offer)
    registry.inbound["Add"] = with_documents(registry.inbound["Add"])
    registry.inbound["Reject"] = with_refusals(registry.inbound["Reject"])
    registry.before("Offer", prepare_offer)
    registry.before("Add", checking.prepare)
    registry.before("Reject", prepare_refusal)
