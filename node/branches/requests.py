"""Link requests at the parent: who is a node of the tree, and which rules a request breaks.

A ``Join`` of the chapter whose actor is a node's Group actor (it shows a ``level``) is a link
request; a Person's Join stays a membership request. Before the inbox's transaction,
:func:`prepare` fetches the requester's actor afresh (its ``parent`` now, not a cached one)
and walks this node's ancestors up through their actor documents (those fetched in the last
``ancestry.WALK_SECONDS`` taken as they are: N Joins, one walk); inside it, :func:`refusal`
applies the rules (``node.branches.rules``) to what was fetched, naming each branch by its
display name and place (the requester's from its fresh document, this node's from its
configuration, any other from what the store keeps: ``node.branches.names``). The admin's Accept
(``outbound``) applies the same rules again, with a fresh walk: what held when the request
came may not hold now.
"""

from __future__ import annotations

from typing import TypeGuard

from federation.activitystreams import id_of, origin_of
from federation.actors import RemoteActor, RemoteActors
from inbox.handlers import PrepareContext
from node.branches import ancestry, link_store, names, rules
from node.core.config import Config
from node.core.db import Connection
from node.core.i18n import Message

NODE_TYPES = ("Group", "Organization")


def is_node(actor: RemoteActor | None) -> TypeGuard[RemoteActor]:
    """A node of the tree: a Group (or Organization) actor with a ``level``."""
    if actor is None or not isinstance(actor.data.get("level"), str):
        return False
    kind = actor.data.get("type")
    return bool(set(kind if isinstance(kind, list) else [kind]) & set(NODE_TYPES))


def host_of(actor_id: str) -> str:
    return origin_of(actor_id).netloc.lower()


async def our_ancestors(
    remote_actors: RemoteActors, reader, local_id: str, *, max_age: float | None = None
) -> list[str]:
    parent = await link_store.current_parent(reader)
    return await ancestry.ancestors(remote_actors, parent.peer_id if parent else None, local=local_id, max_age=max_age)


async def prepare(pctx: PrepareContext, activity: dict) -> dict:
    """Before the transaction of a Join: for a link request, the requester afresh and our ancestors."""
    if not is_node(pctx.sender) or id_of(activity.get("object")) != pctx.chapter_id:
        return {}
    requester = await pctx.remote_actors.get_actor(pctx.sender.id, refresh=True)
    above = await our_ancestors(pctx.remote_actors, pctx.reader, pctx.chapter_id, max_age=ancestry.WALK_SECONDS)
    return {"requester": requester, "ancestors": above}


async def refusal(
    conn: Connection, config: Config, local_id: str, requester: RemoteActor, ancestors: list[str]
) -> Message | None:
    """Why this node refuses ``requester`` as a child, or None (each branch named as ``names`` says)."""
    child, here = names.from_document(requester.id, requester.data), names.this_node(config, local_id)
    reason = rules.cycle_refusal(child, here, ancestors) or rules.level_refusal(
        requester.data.get("level"), config.node.level, allow_skipping=config.tree.allow_skipping_levels
    )
    current = id_of(requester.data.get("parent"))
    if reason is None and current not in (None, local_id):
        reason = rules.other_parent_refusal(child, await names.name_of(conn, current))
    return reason


def accepted_automatically(config: Config, requester_id: str) -> bool:
    return host_of(requester_id) in config.tree.accept_children_from
