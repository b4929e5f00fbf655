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

A relayed activity of another node is believed only once checked against its author, before
the transaction (:func:`prepare_relayed`, a ``registry.preparers`` entry for ``Announce``):
first, without any network, the sender must be a linked child and the origin a node whose
report came through it; then the activity must carry a valid FEP-8b32 proof from the origin's
own key, or be fetched from the origin at its id (through the inbox's gated fetches): it must
be what the origin serves there (the same type, actor and post), and what is relayed is the
origin's copy. A child can thus relay its subtree's posts, never forge or alter them.

How: followers get one ``Announce`` with ``audience`` = the origin chapter, of the post's id
for a Create (Mastodon shows a boost and fetches the post from its origin; an edit or a
deletion means nothing to it as an Announce, so those are not sent to it), or of the
activity itself for followers whose host runs FEP-1b12 software (``node.branches.software``)
and for our own parent (which relays it in turn, and needs Updates and Deletes too). Ids
derive from the post's id (and, for the activity form of an Update, the activity's id), so
however many levels a post passes, however often it is redelivered, and in however many
Creates it arrives, each follower gets it once.
"""

from __future__ import annotations

import logging
from functools import partial

from federation.activitystreams import PUBLIC_ALIASES, as_list, id_of, origin_of
from federation.client import FetchError
from federation.proofs import ProofError, verify_actor_proof
from inbox.handlers import InboxContext, PrepareContext
from inbox.relay import Relay
from node.branches import documents, link_store, reports, software
from node.core import follows

log = logging.getLogger("chapterhouse.branches")

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


def _same_host(first: str, second: str) -> bool:
    return origin_of(first).netloc.lower() == origin_of(second).netloc.lower()


def _claimed_relay(announce: dict, child: str) -> tuple[dict, str] | None:
    """The activity and its origin, when ``announce`` has the shape of a relay from a subtree."""
    relayed, origin = announce.get("object"), id_of(announce.get("audience"))
    if not isinstance(relayed, dict) or origin in (None, child) or not _is_public(announce):
        return None
    if not own_public_post(relayed, origin) or not isinstance(relayed.get("id"), str):
        return None
    if not _same_host(relayed["id"], origin):
        return None
    return relayed, origin


async def _through(reader, origin: str, child: str) -> bool:
    """Whether ``origin``'s report came here through ``child`` (it is in that child's subtree)."""
    kept = await reports.get(reader, origin)
    return kept is not None and kept["via_child"] == child


#: ``ctx.prepared`` key: the relayed activity as checked against its author (or the refusal's reason).
CHECKED = "relayed activity, checked"


async def prepare_relayed(pctx: PrepareContext, activity: dict) -> dict:
    """Before the transaction of an Announce: the activity a linked child relays, checked against
    its author. Nothing is fetched unless the sender is a linked child and the origin in its subtree."""
    child = pctx.actor_id
    if activity.get("type") != "Announce" or child is None:
        return {}
    claimed = _claimed_relay(activity, child)
    if claimed is None or await link_store.linked_child(pctx.reader, child) is None:
        return {}
    relayed, origin = claimed
    if not await _through(pctx.reader, origin, child):
        return {}
    return {CHECKED: await _checked_against_author(pctx, relayed, origin)}


async def _checked_against_author(pctx: PrepareContext, relayed: dict, origin: str) -> dict | str:
    """The activity to relay (the one its origin signed or serves), or why it is refused."""
    if "proof" in relayed:
        try:
            actor = await pctx.remote_actors.get_actor(origin)
            verify_actor_proof(relayed, actor.data, now=pctx.now)
            return relayed
        except ProofError as error:
            return f"its proof: {error}"
        except FetchError as error:
            if error.gone:
                return f"its author {origin} is gone ({error.reason})"
            raise  # unreachable now: the inbox tries again later
    url = relayed["id"]
    try:
        served = await fetch_from_origin(pctx, url)
    except FetchError as error:
        if error.gone:
            return f"{origin} serves nothing at {url} ({error.reason})"
        raise  # unreachable now: the inbox tries again later
    return _matching(served, relayed, origin)


async def fetch_from_origin(pctx: PrepareContext, url: str) -> dict:
    """The document at ``url``, fetched signed by the instance actor through the inbox's gated fetches
    (the federation client: its address guard, ``allow_private_addresses``, its size cap)."""
    gate, client = pctx.remote_actors.gate, pctx.remote_actors.client

    async def fetch() -> dict:
        return await client.get_json(url, signer=pctx.remote_actors.signer)

    return await (gate.fetch(url, fetch) if gate is not None else fetch())


def _matching(served: dict, relayed: dict, origin: str) -> dict | str:
    """What the origin serves at the activity's id, when it is the activity the child relayed."""
    if served.get("id") != relayed["id"] or served.get("type") != relayed.get("type"):
        return f"{origin} serves another document at {relayed['id']}"
    if id_of(served.get("object")) != id_of(relayed.get("object")) or not own_public_post(served, origin):
        return f"{origin} serves {relayed['id']} with another post or audience than the relayed copy"
    return served


async def _relayed_by_child(ctx: InboxContext, announce: dict, child: str) -> dict | None:
    """The activity a linked child relays from its subtree, if it is one we relay in turn: only as
    checked against its author before the transaction (:func:`prepare_relayed`)."""
    claimed = _claimed_relay(announce, child)
    if claimed is None or not await _through(ctx.conn, claimed[1], child):
        return None
    checked = ctx.prepared.get(CHECKED)
    if isinstance(checked, str):
        log.warning("branch tree: %s relayed %s, not relayed further: %s", child, claimed[0].get("id"), checked)
        return None
    return checked


async def _split_followers(ctx: InboxContext) -> tuple[list[str], list[str]]:
    """Followers' inboxes that want the post's id, and those that want the activity (FEP-1b12, our parent)."""
    inboxes = await follows.follower_inboxes(ctx.conn, ctx.chapter)
    embedded_hosts = await software.fep_1b12_hosts(ctx.conn)
    parent = await link_store.linked_parent(ctx.conn)
    parent_inbox = parent.delivery_inbox if parent is not None else None
    plain = [i for i in inboxes if i != parent_inbox and software.inbox_host(i) not in embedded_hosts]
    embedded = [i for i in inboxes if i not in plain and i != parent_inbox] + ([parent_inbox] if parent_inbox else [])
    return plain, embedded


def _activity_key(relayed: dict) -> str:
    """A Create or a Delete is relayed once per post, whatever its activity's id (a post sent in
    two Creates is one post); each Update once per activity (every edit is news)."""
    if relayed["type"] in ("Create", "Delete"):
        return f"activity {relayed['type']} {id_of(relayed['object'])}"
    return f"activity {relayed['id']}"


#: The linked children, read once per inbox batch; a handler that links or unlinks one forgets it.
LINKED_CHILDREN = "branch tree: linked children"


async def is_linked_child(ctx: InboxContext, sender: str) -> bool:
    children = await ctx.once_per_batch.remember(LINKED_CHILDREN, partial(link_store.linked_child_ids, ctx.conn))
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
        if post_id is None:  # own_public_post saw its id: a relayed Announce's object may have none
            return None
        out.append(
            Relay(
                documents.relay_announce(
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
                documents.relay_announce(
                    ctx.urls,
                    actor=ctx.chapter_id,
                    relayed=relayed,
                    key=_activity_key(relayed),
                    followers=followers,
                    audience=origin,
                    now=ctx.now,
                ),
                embedded,
            )
        )
    return out
