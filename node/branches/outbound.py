"""The tree as the admin changes it, by client-to-server POSTs to the chapter's outbox.

- ``Join`` of a remote node's Group actor (``registry.composers["Join"]``): ask it to be our
  parent. Refused here (409 / 422 with the reason) when we already have a parent or wait for
  one, when the target is no node of the tree, is of a level that cannot be ours above, is in
  our own subtree, or has us among its ancestors (walked up through actor documents).
- ``Accept`` / ``Reject`` of a link request's Join id (first of ``registry.answer_composers``;
  anything else goes on to membership's Join answers and the Follow answers). An Accept
  checks the rules again (a fresh walk of our ancestors, the requester's actor afresh): when
  one fails, the request is refused with a Reject saying why, and the admin gets a 422 with
  the same reason.
- ``Leave`` of our parent (``registry.composers["Leave"]``): we unlink (a pending request is
  withdrawn the same way).
- ``Remove`` of a child from our children collection (``registry.collection_composers``):
  it is unlinked, and our parent is told to drop that branch.
"""

from __future__ import annotations

import logging

from federation import jsonio
from federation.activitystreams import id_of
from federation.actors import RemoteActor
from federation.client import FetchError
from node.branches import ancestry, documents, link_store, linking, names, paths, reports, requests, rules
from node.branches.link_store import Link
from node.branches.linking import Local
from node.core import inbox_items, vocabulary
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.i18n import N_, Message
from node.core.registry import Registry
from outbox.compose import Composed, OutboxContext

log = logging.getLogger("chapterhouse.branches")


def local(ctx: OutboxContext) -> Local:
    return Local(ctx.urls, ctx.username, ctx.now)


async def _fetch_node(ctx: OutboxContext, actor_id: str) -> RemoteActor:
    try:
        actor = await ctx.remote_actors.get_actor(actor_id, refresh=True)
    except FetchError as error:
        raise ApiError(
            422, f"could not fetch {actor_id}: {error.reason}", hint="check the address; the node must be reachable"
        ) from None
    if not requests.is_node(actor):
        raise ApiError(
            422,
            f"{actor_id} is not a node of the tree (a Group actor with a level)",
            hint="a parent is another Chapterhouse node's chapter actor",
        )
    return actor


async def _own_subtree(reader: Connection) -> set[str]:
    linked = {link.peer_id for link in await link_store.children_in_state(reader, "linked")}
    return linked | await reports.origins(reader)


async def _parent_refusal(ctx: OutboxContext, parent: RemoteActor) -> tuple[int, Message] | None:
    reader, asked = ctx.db.reader, names.from_document(parent.id, parent.data)
    current = await link_store.current_parent(reader)
    reason = rules.second_parent_refusal(
        await names.name_of(reader, current.peer_id) if current else None, current.state if current else None, asked
    )
    if reason is not None:
        return 409, reason
    reason = rules.level_refusal(
        ctx.config.node.level, parent.data.get("level"), allow_skipping=ctx.config.tree.allow_skipping_levels
    ) or rules.subtree_refusal(asked, await _own_subtree(reader))
    if reason is None:
        above = await ancestry.ancestors(ctx.remote_actors, id_of(parent.data.get("parent")), local=ctx.actor_id)
        reason = rules.cycle_refusal(names.this_node(ctx.config, ctx.actor_id), asked, above)
    return None if reason is None else (422, reason)


async def compose_join(ctx: OutboxContext, activity: dict) -> Composed:
    """Ask a node to be our parent."""
    target = id_of(activity.get("object"))
    if target is None or ctx.urls.is_local(target):
        raise ApiError(
            400,
            "Join needs the id of another node's chapter actor as its object",
            hint="chapterhouse link --config PATH @name@host finds it for you",
        )
    parent = await _fetch_node(ctx, target)
    refused = await _parent_refusal(ctx, parent)
    if refused is not None:
        log.warning("branch tree: our link request to %s refused here: %s", parent.id, refused[1])
        raise ApiError(refused[0], N_("refused: {reason}", reason=refused[1]))
    join = documents.link_request(ctx.urls, actor=ctx.actor_id, parent=parent.id, now=ctx.now)

    async def save(conn: Connection) -> None:
        await link_store.request(
            conn,
            peer_id=parent.id,
            role="parent",
            join_id=join["id"],
            level=parent.data.get("level"),
            inbox=parent.inbox,
            shared_inbox=parent.shared_inbox,
            collection=id_of(parent.data.get("children")),
            now=to_epoch(ctx.now),
        )

    return Composed(activity=join, changes=[save])


async def compose_leave(ctx: OutboxContext, activity: dict) -> Composed:
    """Leave our parent (or withdraw our request)."""
    target = id_of(activity.get("object"))
    parent = await link_store.current_parent(ctx.db.reader)
    if parent is None or parent.peer_id != target:
        where = f"below {parent.peer_id}" if parent else "below no parent"
        raise ApiError(
            404,
            f"this node is not linked below {target} (it is {where})",
            hint="the parent is the actor's 'parent'; members leave a chapter from its pages",
        )
    leave = documents.unlink("Leave", ctx.urls, actor=ctx.actor_id, peer=parent.peer_id, now=ctx.now)

    async def save(conn: Connection) -> None:
        await linking.drop_parent(conn, local(ctx), parent)

    return Composed(activity=leave, changes=[save])


async def compose_children_change(ctx: OutboxContext, activity: dict, kind: str) -> Composed:
    """Remove a child from our children collection (a child is added only by its own Join)."""
    if kind == "Add":
        raise ApiError(
            400,
            "a child is added by its own Join, answered with Accept",
            hint="link requests are listed at /admin/children",
        )
    child_id = id_of(activity.get("object"))
    child = await link_store.get(ctx.db.reader, child_id, "child") if child_id else None
    if child is None or child.state != "linked":
        raise ApiError(404, f"{child_id} is not a linked child of this node", hint="see /admin/children")
    remove = documents.unlink(
        "Remove",
        ctx.urls,
        actor=ctx.actor_id,
        peer=child.peer_id,
        now=ctx.now,
        target=paths.children(ctx.urls, ctx.username),
    )

    async def save(conn: Connection) -> None:
        await linking.drop_child(conn, local(ctx), child)

    return Composed(activity=remove, changes=[save])


async def _received_join(ctx: OutboxContext, link: Link) -> dict:
    received = await inbox_items.get_by_activity_id(ctx.db.reader, link.join_id)
    if received is None:
        return {"id": link.join_id, "type": "Join", "actor": link.peer_id, "object": ctx.actor_id}
    return jsonio.loads(received["body"])


async def _accept_refusal(ctx: OutboxContext, link: Link) -> Message | None:
    try:
        requester = await ctx.remote_actors.get_actor(link.peer_id, refresh=True)
    except FetchError as error:
        raise ApiError(
            422,
            f"could not fetch {link.peer_id} to check the link: {error.reason}",
            hint="try again when it is reachable",
        ) from None
    above = await requests.our_ancestors(ctx.remote_actors, ctx.db.reader, ctx.actor_id)
    return await requests.refusal(ctx.db.reader, ctx.config, ctx.actor_id, requester, above)


async def _refuse_now(ctx: OutboxContext, link: Link, join: dict, reason: Message) -> ApiError:
    """The admin said Accept, but a rule says no: refuse with a Reject, and tell the admin why."""
    if link.state == "pending":
        async with ctx.db.transaction() as conn:
            await linking.refuse_child(conn, local(ctx), link, join, reason)
    child = names.label(await names.name_of(ctx.db.reader, link.peer_id))
    return ApiError(
        422, N_("refused: {reason}", reason=reason), hint=N_("a Reject saying so goes to {branch}", branch=child)
    )


async def compose_link_answer(ctx: OutboxContext, activity: dict, kind: str) -> Composed | None:
    """Accept / Reject of a link request; None when the object is no link request's Join."""
    join_id = id_of(activity.get("object"))
    link = await link_store.by_join(ctx.db.reader, join_id, "child") if join_id else None
    if link is None:
        return None
    join = await _received_join(ctx, link)
    if link.state == "linked":
        raise ApiError(
            409,
            f"{link.peer_id} is already a child of this node",
            hint="unlink it with Remove from the children collection",
        )
    if kind == "Reject":
        return _compose_reject(ctx, activity, link, join)
    reason = await _accept_refusal(ctx, link)
    if reason is not None:
        raise await _refuse_now(ctx, link, join, reason)
    accept = vocabulary.answer("Accept", ctx.urls, actor=ctx.actor_id, answered=join, to=link.peer_id, now=ctx.now)

    async def save(conn: Connection) -> None:
        await link_store.set_state(conn, link.peer_id, "child", "linked", to_epoch(ctx.now))
        await linking.record_follows(conn, local(ctx), link)

    return Composed(activity=accept, changes=[save])


def _compose_reject(ctx: OutboxContext, activity: dict, link: Link, join: dict) -> Composed:
    if link.state != "pending":
        raise ApiError(409, f"{join['id']} was already {link.state}", hint="see /admin/children")
    content = activity.get("content")
    reason = (
        content
        if isinstance(content, str) and content.strip()
        else N_("the admin of {branch} declined", branch=names.label(names.this_node(ctx.config, ctx.actor_id)))
    )
    reject = documents.refusal(
        ctx.urls, actor=ctx.actor_id, answered=join, to=link.peer_id, reason=str(reason), now=ctx.now
    )

    async def save(conn: Connection) -> None:
        await link_store.set_state(conn, link.peer_id, "child", "refused", to_epoch(ctx.now), reason=reason)
        log.warning("branch tree: link request %s from %s refused by the admin: %s", link.join_id, link.peer_id, reason)

    return Composed(activity=reject, changes=[save])


def register(registry: Registry) -> None:
    registry.composers["Join"] = compose_join
    registry.composers["Leave"] = compose_leave
    registry.collection_composers["children"] = compose_children_change
    registry.answer_composers.insert(0, compose_link_answer)
