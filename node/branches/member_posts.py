"""Relaying members' posts: a linked child's boost of a post published on its own host.

A chapter publishes a member's blog post under the member's own ``Person`` and boosts it to its
followers (``node.content.writing``): an ``Announce`` whose object is the post's id, not an
activity of the chapter's. Its parent (a follower of each linked child) relays such a post up
the tree as :mod:`node.branches.relaying` relays the child's own posts, once it has checked the
post against the host it was published on, never against the word of the node that boosts it:

- Standing, from the database alone (:func:`claimed`, :func:`prepare`): the sender is a linked
  child; the boost is public; the post's id is on the host of its origin, which is the child
  itself or, for a boost relayed from deeper (``audience`` names the origin), a node whose signed
  report came here through that child. Anything else (a stranger's Announce, a boost of a post
  on another host, an origin outside the sender's subtree) is no relay: nothing is fetched, kept
  or relayed. Nor is a post this node has relayed already (by this path, or as its chapter's own
  ``Create``): each post is fetched and relayed once.
- Before the transaction (:func:`prepare`, a ``registry.preparers`` entry for ``Announce``): the
  post is fetched at its id (the federation client, signed by the instance actor, through the
  inbox's gated fetches, its address guard and ``allow_private_addresses``). What its origin
  serves there must be that post (the same id), a Note, Article, Question or Event addressed to
  the public (``as:Public`` in ``to``), attributed to an actor on the origin's host.
- In the inbox's transaction (:func:`checked`, read by ``subtree_posts.keep`` and
  :func:`relay_boost`): a post that failed a check is refused with the reason (a
  ``PermanentError``: the received Announce ends ``dead`` with it, in the node's inbox); a post
  that passed is kept in the subtree's posts (``node.branches.subtree_posts``, its branch the
  origin, reached through the child) and relayed to this node's followers and its parent as one
  ``Announce`` of the post's id with ``audience`` = the origin. That Announce's id derives from
  the post's id, so however many levels, paths and redeliveries a post passes, each follower gets
  it once; the parent checks it again the same way, against the origin.

Taken back (:func:`undone`): when the member deletes the post, the chapter sends an ``Undo`` of its
boost. The Undo of a boost this node relayed, by the linked child the post came through (the same
standing as the boost's, and the same origin as this node's relay), removes the post from the
subtree's posts (``subtree_posts.forget_boost``) and is passed on as one ``Undo`` of this node's own
Announce, to the same followers and the parent, which do the same. Nothing is fetched: a child only
takes back what it brought. A member's edits are not brought up (the chapter boosts a post once,
when it is published).
"""

from __future__ import annotations

from federation.activitystreams import id_of
from federation.client import FetchError
from inbox.handlers import InboxContext, PermanentError, PrepareContext
from inbox.relay import Relay
from node.branches import documents, link_store, relaying
from node.core import follows, objects, vocabulary

#: ``ctx.prepared`` key: the boosted post as its origin serves it, or why it is refused.
CHECKED = "boosted post, checked"


def claimed(announce: dict, child: str) -> tuple[str, str] | None:
    """(the post's id, its origin) when ``announce`` from ``child`` has the shape of a boost of a post
    of its origin's host: public, of a post id, on the host of ``audience`` (or of the child)."""
    post_id = announce.get("object")
    if announce.get("type") != "Announce" or not isinstance(post_id, str) or not relaying._is_public(announce):
        return None
    origin = id_of(announce.get("audience")) or child
    return (post_id, origin) if relaying._same_host(post_id, origin) else None


async def _standing(reader, announce: dict, child: str | None) -> tuple[str, str] | None:
    """The claim, when ``child`` is a linked child and the origin is it or a node of its subtree."""
    claim = claimed(announce, child) if child is not None else None
    if claim is None or child is None or await link_store.linked_child(reader, child) is None:
        return None
    origin = claim[1]
    if origin != child and not await relaying._through(reader, origin, child):
        return None
    return claim


def _verified(served: dict, post_id: str, origin: str) -> dict | str:
    """The post as served at ``post_id``, when it is one to relay; else why not."""
    if served.get("id") != post_id:
        return f"{post_id} serves a document whose id is {served.get('id')!r}, not that post"
    if served.get("type") not in relaying.RELAYED_TYPES:
        return f"{post_id} is a {served.get('type')!r}: only a {', '.join(relaying.RELAYED_TYPES)} is relayed"
    if not relaying._is_public(served):
        return f"{post_id} is not addressed to the public"
    author = id_of(served.get("attributedTo"))
    if author is None or not relaying._same_host(author, origin):
        return f"{post_id} is attributed to {author}, not to an actor on the host of {origin}"
    return served


async def prepare(pctx: PrepareContext, activity: dict) -> dict:
    """Before the transaction: a linked child's boost of a post of its subtree, fetched from its origin
    and checked. Nothing is fetched for anyone else, nor for a post relayed here already."""
    claim = await _standing(pctx.reader, activity, pctx.actor_id)
    if claim is None:
        return {}
    post_id, origin = claim
    if await objects.get(pctx.reader, pctx.urls.relayed_activity_id("Announce", post_id)) is not None:
        return {}
    try:
        served = await relaying.fetch_from_origin(pctx, post_id)
    except FetchError as error:
        if error.gone:
            return {CHECKED: f"{origin} serves nothing at {post_id} ({error.reason})"}
        raise  # unreachable now: the inbox tries again later
    return {CHECKED: _verified(served, post_id, origin)}


async def checked(ctx: InboxContext, activity: dict) -> tuple[dict, str, str] | None:
    """(the post as its origin serves it, the origin, the linked child that boosted it) for a boost this
    node keeps and relays; None for what is no such boost; a ``PermanentError`` saying why a post
    that was fetched is refused."""
    child = id_of(activity.get("actor"))
    if activity.get("type") != "Announce" or child is None or not isinstance(activity.get("object"), str):
        return None
    claim = claimed(activity, child)
    if claim is None or not await relaying.is_linked_child(ctx, child):
        return None
    if claim[1] != child and not await relaying._through(ctx.conn, claim[1], child):
        return None
    found = ctx.prepared.get(CHECKED)
    if found is None:
        return None  # relayed here already: nothing was fetched
    if isinstance(found, str):
        raise PermanentError(f"the boost of {claim[0]} by {child} is not relayed: {found}")
    return found, claim[1], child


async def undone(ctx: InboxContext, activity: dict) -> tuple[str, str, dict] | None:
    """(the post's id, its origin, this node's Announce of it) when ``activity`` is a linked child's
    ``Undo`` of its boost of a post of its subtree that this node relayed from that origin."""
    child, boost = id_of(activity.get("actor")), activity.get("object")
    if activity.get("type") != "Undo" or child is None or not isinstance(boost, dict):
        return None
    claim = claimed(boost, child) if id_of(boost.get("actor")) == child else None
    if claim is None or not await relaying.is_linked_child(ctx, child):
        return None
    post_id, origin = claim
    if origin != child and not await relaying._through(ctx.conn, origin, child):
        return None
    ours = await objects.get(ctx.conn, ctx.urls.relayed_activity_id("Announce", post_id))
    if ours is None or id_of(ours.data.get("audience")) != origin:
        return None
    return post_id, origin, ours.data


async def _inboxes(ctx: InboxContext) -> list[str]:
    """This node's followers' inboxes, and its parent's."""
    inboxes = await follows.follower_inboxes(ctx.conn, ctx.chapter)
    parent = await link_store.linked_parent(ctx.conn)
    if parent is not None and parent.delivery_inbox and parent.delivery_inbox not in inboxes:
        inboxes.append(parent.delivery_inbox)
    return inboxes


async def _relay_undo(ctx: InboxContext, activity: dict) -> list[Relay] | None:
    found = await undone(ctx, activity)
    if found is None:
        return None
    post_id, _origin, ours = found
    undo = vocabulary.activity(
        "Undo",
        ctx.urls,
        actor=ctx.chapter_id,
        now=ctx.now,
        object=ours,
        to=[vocabulary.PUBLIC],
        cc=[ctx.urls.followers(ctx.chapter)],
    )
    undo["id"] = ctx.urls.relayed_activity_id("Undo", post_id)
    return [Relay(undo, await _inboxes(ctx))]


async def relay_boost(ctx: InboxContext, activity: dict) -> list[Relay] | None:
    """A ``registry.relay_rules`` entry: the checked post, announced once to our followers and parent
    (or, for the child's Undo of its boost, our Announce taken back the same way)."""
    if activity.get("type") == "Undo":
        return await _relay_undo(ctx, activity)
    found = await checked(ctx, activity)
    if found is None:
        return None
    post, origin, _child = found
    inboxes = await _inboxes(ctx)
    announce = documents.relay_announce(
        ctx.urls,
        actor=ctx.chapter_id,
        relayed=post["id"],
        key=post["id"],
        followers=ctx.urls.followers(ctx.chapter),
        audience=origin,
        now=ctx.now,
    )
    return [Relay(announce, inboxes)]
