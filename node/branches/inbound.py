"""The tree as received in the inbox: link requests and answers, unlinking, and reports.

Registered by :func:`register` (after membership's, which it wraps):

- ``Join`` of the chapter by a node (``requests.is_node``) is a link request: refused at once
  with a Reject when it breaks a rule, accepted at once from ``[tree] accept_children_from``,
  else pending for the admin; any other Join goes on to membership.
- ``Accept`` / ``Reject`` of our own Join (``registry.answer_handlers["Join"]``): we are linked
  below the parent (and forward it every report of our subtree), or refused with its reason.
  An Accept of a request we withdrew is answered with a Leave.
- ``Leave`` of the chapter by a child unlinks it; any other Leave goes on to membership.
- ``Remove`` from our parent of ourselves from its children: we are unlinked. ``Remove`` from a
  linked child of a node of its subtree from its children: that branch's reports are dropped
  here, and our parent is told the same.
- ``Add`` of a ``BranchReport`` to our children, from a linked child: checked (the proof
  before the transaction, by the ``Add`` preparer, which fetches nothing for a sender that is
  not a linked child; the rest inside), kept if newest, and forwarded unchanged to our
  parent. A refused report goes dead with the reason, logged.
"""

from __future__ import annotations

import logging

from federation import jsonio
from federation.activitystreams import actor_of, id_of
from federation.actors import RemoteActor
from inbox.handlers import Handler, InboxContext, PermanentError, PrepareContext, TryLater
from node.branches import documents, link_store, linking, paths, relaying, reports, requests
from node.branches.linking import Local
from node.core import objects, vocabulary
from node.core.clock import to_epoch
from node.core.registry import Registry

log = logging.getLogger("chapterhouse.branches")


def local(ctx: InboxContext) -> Local:
    return Local(ctx.urls, ctx.chapter, ctx.now)


async def on_link_request(ctx: InboxContext, activity: dict) -> None:
    requester: RemoteActor = ctx.prepared.get("requester") or ctx.signer
    existing = await link_store.get(ctx.conn, requester.id, "child")
    here = local(ctx)
    if existing is not None and existing.state == "linked":  # it asks again (it lost our answer): answer again
        await linking.send(
            ctx.conn,
            here,
            vocabulary.answer(
                "Accept", ctx.urls, actor=ctx.chapter_id, answered=activity, to=requester.id, now=ctx.now
            ),
            existing.delivery_inbox,
        )
        ctx.queued_deliveries = True
        return
    await link_store.request(
        ctx.conn,
        peer_id=requester.id,
        role="child",
        join_id=activity["id"],
        level=requester.data.get("level"),
        inbox=requester.inbox,
        shared_inbox=requester.shared_inbox,
        collection=id_of(requester.data.get("children")),
        now=to_epoch(ctx.now),
    )
    ctx.once_per_batch.forget(relaying.LINKED_CHILDREN)  # this handler changes who is a linked child
    link = await link_store.require(ctx.conn, requester.id, "child")
    reason = await requests.refusal(ctx.conn, ctx.config, ctx.chapter_id, requester, ctx.prepared.get("ancestors", []))
    if reason is not None:
        await linking.refuse_child(ctx.conn, here, link, activity, reason)
    elif requests.accepted_automatically(ctx.config, requester.id):
        await linking.accept_child(ctx.conn, here, link, activity)
    else:
        log.info(
            "branch tree: %s asks to be a child of this node (%s); the admin answers", requester.id, activity["id"]
        )
        return
    ctx.queued_deliveries = True


def join_or_link_request(membership_join: Handler) -> Handler:
    async def apply(ctx: InboxContext, activity: dict) -> None:
        if requests.is_node(ctx.sender) and id_of(activity.get("object")) == ctx.chapter_id:
            await on_link_request(ctx, activity)
        else:
            await membership_join.apply(ctx, activity)

    return Handler(apply, needs_sender=True)


async def on_join_answered(ctx: InboxContext, activity: dict, join: objects.StoredObject | None) -> None:
    """The parent answered our Join."""
    link = await link_store.by_join(ctx.conn, join.id, "parent") if join is not None else None
    if link is None:
        return  # a Join of ours that was no link request (none is sent yet): nothing to do
    if actor_of(activity) != link.peer_id:
        raise PermanentError(f"{id_of(activity['actor'])} answered a Join addressed to {link.peer_id}")
    here = local(ctx)
    if activity["type"] == "Reject":
        given = activity.get("content")
        reason = given if isinstance(given, str) else "no reason given"
        await link_store.set_state(ctx.conn, link.peer_id, "parent", "refused", here.epoch, reason=reason[:1000])
        log.warning("branch tree: %s refused our link request: %s", link.peer_id, reason)
    elif activity["type"] == "Accept" and link.state == "pending":
        await link_store.set_state(ctx.conn, link.peer_id, "parent", "linked", here.epoch)
        await linking.record_follows(ctx.conn, here, link)
        await linking.forward_subtree(ctx.conn, here, link)
        ctx.queued_deliveries = True
        log.info("branch tree: this node is now linked below %s", link.peer_id)
    elif activity["type"] == "Accept" and link.state != "linked":  # we withdrew (or were refused) meanwhile
        leave = documents.unlink("Leave", ctx.urls, actor=ctx.chapter_id, peer=link.peer_id, now=ctx.now)
        await linking.send(ctx.conn, here, leave, link.delivery_inbox)
        ctx.queued_deliveries = True


def leave_or_unlink(membership_leave: Handler) -> Handler:
    async def apply(ctx: InboxContext, activity: dict) -> None:
        child = await link_store.get(ctx.conn, actor_of(activity), "child")
        if (
            child is not None
            and child.state in ("linked", "pending")
            and id_of(activity.get("object")) == ctx.chapter_id
        ):
            await linking.drop_child(ctx.conn, local(ctx), child)
            ctx.once_per_batch.forget(relaying.LINKED_CHILDREN)
            ctx.queued_deliveries = True
        else:
            await membership_leave.apply(ctx, activity)

    return Handler(apply, needs_sender=membership_leave.needs_sender)


async def on_remove(ctx: InboxContext, activity: dict) -> None:
    actor = actor_of(activity)
    removed, target = (id_of(activity.get(name)) for name in ("object", "target"))
    parent = await link_store.current_parent(ctx.conn)
    if parent is not None and actor == parent.peer_id and removed == ctx.chapter_id:
        await linking.drop_parent(ctx.conn, local(ctx), parent)
        return
    child = await link_store.linked_child(ctx.conn, actor)
    if child is None or removed in (None, ctx.chapter_id) or target != child.collection:
        return  # not the tree's: kept in the inbox only
    row = await reports.get(ctx.conn, removed)
    if row is not None and row["via_child"] == actor:
        await reports.drop_subtree(ctx.conn, removed)
        await linking.tell_parent_removed(ctx.conn, local(ctx), removed)
        ctx.queued_deliveries = True


def _report_of(activity: dict) -> dict | None:
    report = activity.get("object")
    return report if isinstance(report, dict) and report.get("type") == "BranchReport" else None


async def prepare_report(pctx: PrepareContext, activity: dict) -> dict:
    """The report's proof checked against its origin's actor, fetched for it; only for a report
    sent by a linked child (who else would send one is checked first, without any network)."""
    report = _report_of(activity)
    if report is None or pctx.actor_id is None or await link_store.linked_child(pctx.reader, pctx.actor_id) is None:
        return {}
    return {"report_check": await reports.check_proof(pctx.remote_actors, report, pctx.now)}


def refuse_report(activity: dict, reason: str) -> PermanentError:
    log.warning(
        "branch tree: report in %s from %s refused: %s", activity.get("id"), id_of(activity.get("actor")), reason
    )
    return PermanentError(f"report refused: {reason}")


async def _report_refusal(ctx: InboxContext, activity: dict, check: reports.ReportCheck) -> str | None:
    sender = actor_of(activity)
    if await link_store.linked_child(ctx.conn, sender) is None:
        return f"{sender} is not a linked child of this node"
    if id_of(activity.get("target")) != paths.children(ctx.urls, ctx.chapter):
        return f"a report is added to {paths.children(ctx.urls, ctx.chapter)}, not {id_of(activity.get('target'))}"
    if check.error is not None:
        return check.error
    if check.origin == sender and check.parent != ctx.chapter_id:
        return f"the report of {sender} names {check.parent} as its parent, not this node"
    if check.origin != sender and not await reports.reaches(ctx.conn, check.parent, sender):
        return f"{check.origin} is not in the subtree of {sender} (its claimed parents do not lead there)"
    return None


async def on_add(ctx: InboxContext, activity: dict) -> None:
    report = _report_of(activity)
    if report is None:
        return  # not the tree's: kept in the inbox only
    check: reports.ReportCheck | None = ctx.prepared.get("report_check")
    if check is None:  # not checked: its sender was no linked child before the transaction
        sender = actor_of(activity)
        if await link_store.linked_child(ctx.conn, sender) is None:
            raise refuse_report(activity, f"{sender} is not a linked child of this node")
        raise TryLater(f"{sender} was linked while its report waited: the report is checked when tried again")
    reason = await _report_refusal(ctx, activity, check)
    if reason is not None:
        raise refuse_report(activity, reason)
    kept = await reports.get(ctx.conn, check.origin)
    if kept is not None and kept["published"] >= check.published:
        if jsonio.loads(kept["report"]) == report:
            return  # the same report again (forwarded twice, redelivered)
        raise refuse_report(
            activity, f"older than the report of {check.origin} kept here (published {report.get('published')})"
        )
    await reports.upsert(
        ctx.conn,
        origin_id=check.origin,
        via_child=actor_of(activity),
        parent_id=check.parent,
        published=check.published,
        report=report,
        now=to_epoch(ctx.now),
    )
    parent = await link_store.linked_parent(ctx.conn)
    if parent is not None:
        await linking.forward(ctx.conn, local(ctx), parent, report)
        ctx.queued_deliveries = True


def register(registry: Registry) -> None:
    registry.inbound["Join"] = join_or_link_request(registry.inbound["Join"])
    registry.inbound["Leave"] = leave_or_unlink(registry.inbound["Leave"])
    registry.inbound["Remove"] = Handler(on_remove)
    registry.inbound["Add"] = Handler(on_add)
    registry.answer_handlers["Join"] = on_join_answered
    registry.before("Join", requests.prepare)
    registry.before("Add", prepare_report)
