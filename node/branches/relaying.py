"""Relaying the subtree's public posts to this node's followers, each post once.

:func:`relay_subtree` is a ``registry.relay_rules`` entry: it runs in the inbox worker's
transaction after an activity is handled, and what it returns is recorded there
(``inbox.relay``), so the received activity and its relay commit together.

What is relayed: a ``Create`` / ``Update`` / ``Delete`` of a Note, Article (minutes too),
Question or Event, addressed to the public (``as:Public`` in ``to``; unlisted, followers-only,
members-only and direct posts never), sent by a LINKED child about its own post (on its own
host, attributed to it); or an ``Announce`` by a linked child relaying such an activity of a
node of its own subtree (``audience`` names that node, whose signed report came here through
that child). Nothing from a pending, refused or unlinked node, nor from anyone else.

How: followers get one ``Announce`` with ``audience`` = the origin chapter, of the post's id
for a Create (Mastodon shows a boost and fetches the post from its origin; an edit or a
deletion means nothing to it as an Announce, so those are not sent to it), or of the
activity itself for followers whose host runs FEP-1b12 software (``node.branches.software``)
and for our own parent (which relays it in turn, and needs Updates and Deletes too). Ids
derive from the post's id (and, for the activity form, the activity's id), so however many
levels a post passes and however often it is redelivered, each follower gets it once.
"""

from __future__ import annotations

from functools import partial

from federation.activitystreams import PUBLIC_ALIASES, as_list, id_of, origin_of
from inbox.handlers import InboxContext
from inbox.relay import Relay
from node.branches import links, reports, software
from node.core import follows, vocabulary

RELAYED_ACTIVITIES = ("Create", "Update", "Delete")
RELAYED_TYPES = ("Note", "Article", "Question", "Event")


def _is_public(document: dict) -> bool:
    return any(isinstance(x, str) and x in PUBLIC_ALIASES for x in as_list(document.get("to")))


def _post_type(activity: dict) -> str | None:
    post = activity.get("object")
    if not isinstance(post, dict):
        return None
    return post.get("formerType") if activity.get("type") == "Delete" else post.get("type")


def own_public_post(activity: dict, origin: str) -> bool:
    """A public post of ``origin`` itself, of a kind that is relayed."""
    post_id = id_of(activity.get("object"))
    if activity.get("type") not in RELAYED_ACTIVITIES or _post_type(activity) not in RELAYED_TYPES:
        return False
    if post_id is None or id_of(activity.get("actor")) != origin or not _is_public(activity):
        return False
    if origin_of(post_id).netloc.lower() != origin_of(origin).netloc.lower():
        return False
    author = id_of(activity["object"].get("attributedTo"))
    return author in (None, origin)


async def _relayed_by_child(ctx: InboxContext, announce: dict, child: str) -> dict | None:
    """The activity a linked child relays from its subtree, if it is one we relay in turn."""
    relayed, origin = announce.get("object"), id_of(announce.get("audience"))
    if not isinstance(relayed, dict) or origin in (None, child) or not _is_public(announce):
        return None
    if not own_public_post(relayed, origin):
        return None
    kept = await reports.get(ctx.conn, origin)
    return relayed if kept is not None and kept["via_child"] == child else None


async def _split_followers(ctx: InboxContext) -> tuple[list[str], list[str]]:
    """Followers' inboxes that want the post's id, and those that want the activity (FEP-1b12, our parent)."""
    inboxes = await follows.follower_inboxes(ctx.conn, ctx.chapter)
    embedded_hosts = await software.fep_1b12_hosts(ctx.conn)
    parent = await links.linked_parent(ctx.conn)
    parent_inbox = parent.delivery_inbox if parent is not None else None
    plain = [i for i in inboxes if i != parent_inbox and software.inbox_host(i) not in embedded_hosts]
    embedded = [i for i in inboxes if i not in plain and i != parent_inbox] + ([parent_inbox] if parent_inbox else [])
    return plain, embedded


#: The linked children, read once per inbox batch; a handler that links or unlinks one forgets it.
LINKED_CHILDREN = "branch tree: linked children"


async def is_linked_child(ctx: InboxContext, sender: str) -> bool:
    children = await ctx.once_per_batch.remember(LINKED_CHILDREN, partial(links.linked_child_ids, ctx.conn))
    return sender in children


async def relay_subtree(ctx: InboxContext, activity: dict) -> list[Relay] | None:
    kind, sender = activity.get("type"), id_of(activity.get("actor"))
    if kind not in (*RELAYED_ACTIVITIES, "Announce") or sender is None:
        return None
    if kind != "Announce" and not own_public_post(activity, sender):
        return None  # a ballot, a direct message: nothing to relay, whoever sent it (no lookup)
    if not await is_linked_child(ctx, sender):
        return None
    if kind == "Announce":
        relayed, origin = await _relayed_by_child(ctx, activity, sender), id_of(activity.get("audience"))
    else:
        relayed, origin = activity, sender
    if relayed is None or origin is None:
        return None
    plain, embedded = await _split_followers(ctx)
    followers, out = ctx.urls.followers(ctx.chapter), []
    if relayed["type"] == "Create":
        post_id = id_of(relayed["object"])
        out.append(
            Relay(
                vocabulary.relay_announce(
                    ctx.urls,
                    actor=ctx.chapter_id,
                    relayed=post_id,
                    key=post_id,
                    followers=followers,
                    audience=origin,
                    now=ctx.now,
                ),
                plain,
            )
        )
    if embedded:
        out.append(
            Relay(
                vocabulary.relay_announce(
                    ctx.urls,
                    actor=ctx.chapter_id,
                    relayed=relayed,
                    key=f"activity {relayed['id']}",
                    followers=followers,
                    audience=origin,
                    now=ctx.now,
                ),
                embedded,
            )
        )
    return out
