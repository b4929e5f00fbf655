"""Membership asked for and given up by remote actors, as received in the inbox.

- ``Join`` with the chapter as object files a ``requested`` membership (with the sender's
  inboxes); an admin approves it with ``Add`` to the members collection or ``Accept`` of
  the Join, and refuses it with ``Reject`` (or ``Remove``). An active member who joins
  again stays as they are.
- ``Leave`` with the chapter as object ends a membership, or withdraws a request (state
  ``left``).
- Where ``[node] follow_requests_membership`` is true, every ``Follow`` of the chapter also
  files a membership request (:func:`file_follow_as_request`, called by the Follow handler).

Join and Leave of anything else are kept in the inbox and otherwise ignored. The handlers
run in the inbox worker's transaction (``ctx.conn``) and never touch the network: the
sender's actor document is fetched before (``needs_sender``).
"""

from __future__ import annotations

from federation.activitystreams import id_of
from typing import TYPE_CHECKING

from federation.actors import RemoteActor
from node import members
from node.clock import to_epoch

if TYPE_CHECKING:  # pragma: no cover
    from inbox.handlers import InboxContext



async def _request(ctx: InboxContext, actor: RemoteActor) -> None:
    await members.request_membership(ctx.conn, chapter=ctx.chapter, actor_id=actor.id, now=to_epoch(ctx.now),
                                     inbox=actor.inbox, shared_inbox=actor.shared_inbox)


async def handle_join(ctx: InboxContext, activity: dict) -> None:
    if id_of(activity.get("object")) != ctx.chapter_id or ctx.sender is None:
        return
    await _request(ctx, ctx.sender)


async def handle_leave(ctx: InboxContext, activity: dict) -> None:
    if id_of(activity.get("object")) != ctx.chapter_id:
        return
    await members.leave(ctx.conn, ctx.chapter, id_of(activity["actor"]), to_epoch(ctx.now))


async def file_follow_as_request(ctx: InboxContext, follower: RemoteActor) -> None:
    """A Follow of the chapter, where the config says so, is also a request to become a member."""
    if ctx.config.node.follow_requests_membership:
        await _request(ctx, follower)
