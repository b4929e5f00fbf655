"""Moderation from the outbox: ``Block`` (and its ``Undo``) of an actor, and ``Flag`` (a report).

A Block is recorded and takes effect at once (the actor is dropped from followers and
members, its requests are refused, nothing is delivered to it) but is never delivered to
the blocked actor, as ActivityPub advises. Domains are blocked through the admin API
(:mod:`node.moderation.admin_api`). A Flag goes to the reported actor's server, naming the actor and
the objects concerned, with the reason as ``content``; a copy is kept in the reports.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from federation.activitystreams import id_of
from federation.client import FetchError
from node.core import objects, vocabulary
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.registry import Registry
from node.moderation import blocks, reports
from outbox.compose import Composed, OutboxContext

MAX_REASON = 1000
MAX_FLAGGED = 20


def _actor_to_block(ctx: OutboxContext, activity: dict) -> str:
    target = id_of(activity.get("object"))
    if target is None or urlsplit(target).scheme not in ("http", "https") or ctx.urls.is_local(target):
        raise ApiError(
            400,
            "Block needs the id of a remote actor as its object",
            hint='to block a whole domain, POST /admin/blocks {"domain": ...}',
        )
    return target


async def compose_block(ctx: OutboxContext, activity: dict) -> Composed:
    target = _actor_to_block(ctx, activity)
    block = vocabulary.activity("Block", ctx.urls, actor=ctx.actor_id, now=ctx.now, object=target)  # never delivered

    async def save(conn: Connection) -> None:
        await blocks.insert_block(
            conn, kind="actor", value=target, reason="Block from the outbox", now=to_epoch(ctx.now)
        )
        await blocks.drop_relations(conn, kind="actor", value=target)

    return Composed(activity=block, changes=[save], after_commit=[lambda: ctx.blocklist.load(ctx.db)])


async def undo_block(ctx: OutboxContext, original: objects.StoredObject) -> Composed:
    target = original.data["object"]
    undo = vocabulary.activity("Undo", ctx.urls, actor=ctx.actor_id, now=ctx.now, object=original.data)

    async def save(conn: Connection) -> None:
        await blocks.delete_block(conn, kind="actor", value=target)

    return Composed(activity=undo, changes=[save], after_commit=[lambda: ctx.blocklist.load(ctx.db)])


async def compose_flag(ctx: OutboxContext, activity: dict) -> Composed:
    named = [id_of(item) for item in objects.as_list(activity.get("object"))]
    flagged = [item for item in named if item is not None]
    if not named or len(flagged) < len(named) or len(named) > MAX_FLAGGED:
        raise ApiError(400, f"Flag needs 1 to {MAX_FLAGGED} ids (the actor, and the posts) as its object")
    reason = activity.get("content", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ApiError(400, f"the reason (content) must be a string of at most {MAX_REASON} characters")
    reported = None
    for item in flagged:  # the first id that is an actor is the one reported
        try:
            reported = await ctx.remote_actors.get_actor(item)
            break
        except FetchError:
            continue
    if reported is None:
        raise ApiError(422, "none of the flagged ids is a reachable actor", hint="name the reported actor first")
    flag = vocabulary.activity(
        "Flag", ctx.urls, actor=ctx.actor_id, now=ctx.now, object=flagged, content=reason, to=[reported.id]
    )

    async def save(conn: Connection) -> None:
        await reports.insert_report(
            conn,
            activity_id=flag["id"],
            direction="sent",
            reporter=ctx.actor_id,
            targets=flagged,
            content=reason,
            now=to_epoch(ctx.now),
        )

    return Composed(activity=flag, changes=[save])


def register(registry: Registry) -> None:
    """Block, Flag and Undo(Block) in the outbox's composers."""
    registry.composers.update({"Block": compose_block, "Flag": compose_flag})
    registry.undo_composers["Block"] = undo_block
