"""Membership asked for and given up by remote actors, as received in the inbox.

- ``Join`` with the chapter as object files a ``requested`` membership (with the sender's
  inboxes); an admin approves it with ``Add`` to the members collection or ``Accept`` of
  the Join, and refuses it with ``Reject`` (or ``Remove``). An active member who joins
  again stays as they are.
- ``Leave`` with the chapter as object ends a membership, or withdraws a request (state
  ``left``).
- Where ``[node] follow_requests_membership`` is true, every ``Follow`` of the chapter also
  files a membership request (:func:`file_follow_as_request`, run after the Follow is
  handled, in the same transaction).
- The ``Delete`` of an account ends its memberships (:func:`forget_deleted_actor`).

Join and Leave of anything else are kept in the inbox and otherwise ignored. The handlers
run in the inbox worker's transaction (``ctx.conn``) and never touch the network: the
sender's actor document is fetched before (``needs_sender``).
"""

from __future__ import annotations

from federation.activitystreams import actor_of, id_of
from federation.actors import RemoteActor
from inbox.handlers import Handler, InboxContext
from node.core.clock import to_epoch
from node.core.registry import Registry
from node.membership import members


async def _request(ctx: InboxContext, actor: RemoteActor) -> None:
    await members.request_membership(
        ctx.conn,
        chapter=ctx.chapter,
        actor_id=actor.id,
        now=to_epoch(ctx.now),
        inbox=actor.inbox,
        shared_inbox=actor.shared_inbox,
    )


async def handle_join(ctx: InboxContext, activity: dict) -> None:
    if id_of(activity.get("object")) != ctx.chapter_id or ctx.sender is None:
        return
    await _request(ctx, ctx.sender)


async def handle_leave(ctx: InboxContext, activity: dict) -> None:
    if id_of(activity.get("object")) != ctx.chapter_id:
        return
    await members.leave(ctx.conn, ctx.chapter, actor_of(activity), to_epoch(ctx.now))


async def file_follow_as_request(ctx: InboxContext, activity: dict) -> None:
    """A Follow of the chapter, where the config says so, is also a request to become a member."""
    if (
        ctx.config.node.follow_requests_membership
        and ctx.sender is not None
        and id_of(activity.get("object")) == ctx.chapter_id
    ):
        await _request(ctx, ctx.sender)


async def forget_deleted_actor(ctx: InboxContext, object_id: str, actor_id: str) -> None:
    """An account deleted by its server leaves every chapter it belonged to."""
    if object_id == actor_id:
        await members.leave_everywhere(ctx.conn, actor_id, to_epoch(ctx.now))


def register(registry: Registry) -> None:
    registry.inbound["Join"] = Handler(handle_join, needs_sender=True)
    registry.inbound["Leave"] = Handler(handle_leave)
    registry.after("Follow", file_follow_as_request)
    registry.remote_delete_hooks.append(forget_deleted_actor)
