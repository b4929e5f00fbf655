"""Relaying: what the node publishes to its own followers because of an activity it received.

A relay rule in the registry (``registry.relay_rules``: the branch tree's "relay my
subtree's public posts") looks at a handled activity and returns the activity to publish in
turn (an Announce of the post), or None. :func:`relay` records it in the worker's
transaction, with one delivery row per follower inbox, so the received activity and what it
caused commit together. The relayed activity's id is derived from what it relays
(``Urls.relayed_activity_id``): a retried, redelivered or re-relayed post finds its row there
and is not published twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.core import follows, objects, publish
from node.core.clock import to_epoch

if TYPE_CHECKING:  # pragma: no cover
    from inbox.handlers import InboxContext


@dataclass(frozen=True)
class Relay:
    """What a relay rule publishes: an activity, and the inboxes it goes to (None: every follower's)."""

    activity: dict
    inboxes: list[str] | None = None


async def relay(ctx: InboxContext, activity: dict, inboxes: list[str] | None = None) -> bool:
    """Publish ``activity`` to ``inboxes`` (the chapter's followers by default) once; False when it
    was already relayed."""
    if await objects.get(ctx.conn, activity["id"]) is not None:
        return False
    if inboxes is None:
        inboxes = await follows.follower_inboxes(ctx.conn, ctx.chapter)
    await publish.record(
        ctx.conn, urls=ctx.urls, username=ctx.chapter, activity=activity, inboxes=inboxes, now=to_epoch(ctx.now)
    )
    ctx.queued_deliveries = ctx.queued_deliveries or bool(inboxes)
    return True
