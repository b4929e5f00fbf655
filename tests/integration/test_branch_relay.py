"""Relaying to followers of a region: each kind of follower gets what it understands.

A bovine-driven follower (an independent implementation) receives the region's Announce of a
chapter's post, verifies its HTTP signature, and fetches the original from the chapter. A
follower whose server says (NodeInfo) it is Lemmy gets the activity itself (FEP-1b12), edits
included, while a Mastodon-like follower gets one Announce of the post's id.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from federation.activitystreams import id_of
from federation.proofs import add_proof
from node.core.appkeys import KEYRING, URLS
from tests.support.c2s import eventually, get_json, publish
from tests.support.tree import (
    admin_children,
    host_of,
    ids_in,
    link,
    post_signed_as,
    tree_config,
    tree_of,
    wait_linked,
)


async def _region_with_chapter(make_node, tmp_path):
    london_config = tree_config(tmp_path, "london", "chapter")
    europe = await make_node(
        config=tree_config(tmp_path, "europe", "region", accept_children_from=(host_of(london_config.node),))
    )
    london = await make_node(config=london_config)
    assert (await link(london, europe))[0] == 201
    await wait_linked(london, europe)
    return europe, london


async def _post(node, content: str) -> str:
    status, body, _ = await publish(node, {"type": "Note", "content": f"<p>{content}</p>"})
    assert status == 201, body
    return body["object"]


async def test_a_bovine_follower_of_a_region_gets_the_relayed_post(make_node, tmp_path, bovine_peer):
    europe, london = await _region_with_chapter(make_node, tmp_path)
    alice = await bovine_peer("alice")
    followed = await alice.follow(europe.actor_id)
    assert followed["status"] == 202, followed
    await alice.wait_for(lambda e: e["activity"]["type"] == "Accept", timeout=15)
    note = await _post(london, "The London chapter meets on Thursday.")

    entry = await alice.wait_for(
        lambda e: e["activity"]["type"] == "Announce" and e["activity"]["object"] == note, timeout=15
    )
    assert entry["verified"] is True and entry["signer"] == europe.actor_id, entry["error"]
    assert entry["activity"]["actor"] == europe.actor_id and entry["activity"]["audience"] == london.actor_id
    fetched = await alice.fetch(note)  # as Mastodon does with a boost: the original, from its origin
    assert fetched["status"] == 200, fetched
    assert fetched["document"]["attributedTo"] == london.actor_id
    assert "Thursday" in fetched["document"]["content"]


def _nodeinfo(actor, software: str) -> None:
    actor.documents[f"{actor.base}/.well-known/nodeinfo"] = {
        "links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{actor.base}/nodeinfo/2.0"}]
    }
    actor.documents[f"{actor.base}/nodeinfo/2.0"] = {
        "version": "2.0",
        "software": {"name": software, "version": "0.19.5"},
    }


def _announces(actor) -> list[dict]:
    return [r.activity for r in actor.received if r.activity.get("type") == "Announce"]


async def test_fep_1b12_followers_get_the_activity_and_others_the_post_id(make_node, tmp_path, remote_actor):
    europe, london = await _region_with_chapter(make_node, tmp_path)
    ann, lemmy = await remote_actor("ann"), await remote_actor("lem")
    _nodeinfo(lemmy, "lemmy")
    for follower in (ann, lemmy):
        assert (await follower.post(europe.inbox, follower.activity("Follow", europe.actor_id)))[0] == 202
    await eventually(
        lambda: asyncio.sleep(0, all(any(r.activity["type"] == "Accept" for r in f.received) for f in (ann, lemmy)))
    )
    note = await _post(london, "first")
    embedded = await eventually(lambda: asyncio.sleep(0, _announces(lemmy)))
    assert embedded[0]["object"]["type"] == "Create" and id_of(embedded[0]["object"]["object"]) == note
    assert embedded[0]["audience"] == london.actor_id
    plain = await eventually(lambda: asyncio.sleep(0, _announces(ann)))
    assert plain[0]["object"] == note

    status, body, _ = await publish(london, {"type": "Update", "object": {"id": note, "content": "<p>edited</p>"}})
    assert status == 201, body
    updates = await eventually(
        lambda: asyncio.sleep(0, [a for a in _announces(lemmy) if a["object"]["type"] == "Update"])
    )
    assert updates[0]["object"]["object"]["content"] == "<p>edited</p>"
    barrier = await _post(london, "second")
    await eventually(lambda: asyncio.sleep(0, [a for a in _announces(ann) if a["object"] == barrier]))
    assert [a["object"] for a in _announces(ann)] == [note, barrier]  # the edit is no new boost


# --- what is never relayed -------------------------------------------------------------------

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _followed_by(node, *followers) -> None:
    for follower in followers:
        assert (await follower.post(node.inbox, follower.activity("Follow", node.actor_id)))[0] == 202
    await eventually(
        lambda: asyncio.sleep(0, all(any(r.activity["type"] == "Accept" for r in f.received) for f in followers))
    )


def _relayed_ids(follower) -> list[str]:
    """What a follower was sent, as post ids (plain Announces) and post ids of embedded activities."""
    found = []
    for announce in _announces(follower):
        relayed = announce["object"]
        found.append(id_of(relayed.get("object")) if isinstance(relayed, dict) else relayed)
    return found


async def _barrier(origin, *followers) -> str:
    """An honest public post that everyone gets: once it arrives, anything sent before it was handled."""
    post = await _post(origin, "barrier")
    for follower in followers:
        await eventually(lambda f=follower: asyncio.sleep(0, post in _relayed_ids(f)), timeout=15)
    return post


def _create(author_base: str, author_id: str, *, post_id: str | None = None, text: str = "hello", **addressing):
    post = post_id or f"{author_base}/objects/{uuid.uuid4()}"
    audience = addressing or {"to": [PUBLIC], "cc": [f"{author_id}/followers"]}
    note = {"id": post, "type": "Note", "attributedTo": author_id, "content": f"<p>{text}</p>", **audience}
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{author_base}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": author_id,
        "object": note,
        **audience,
    }


async def test_unlisted_posts_and_posts_of_non_children_are_not_relayed(make_node, tmp_path, remote_actor):
    europe, london = await _region_with_chapter(make_node, tmp_path)
    ann, lemmy = await remote_actor("ann"), await remote_actor("lem")
    _nodeinfo(lemmy, "lemmy")
    await _followed_by(europe, ann, lemmy)

    # unlisted: Public only in cc (Mastodon's "unlisted"): for the chapter's followers, not the region's
    status, body, _ = await publish(
        london,
        {"type": "Note", "content": "<p>unlisted</p>", "to": [f"{london.actor_id}/followers"], "cc": [PUBLIC]},
    )
    assert status == 201, body
    unlisted = body["object"]
    # a node that is no linked child (a stranger's Group, with a level) sends a public post of its own
    stranger = await remote_actor("stranger")
    stray = _create(stranger.base, stranger.id, text="relay me")
    assert (await stranger.post(europe.inbox, stray))[0] == 202
    # a pending child is no linked child either
    rome = await make_node(config=tree_config(tmp_path, "rome", "chapter"))
    assert (await link(rome, europe))[0] == 201
    await eventually(lambda: _pending(europe, rome))
    assert (await post_signed_as(rome, europe.inbox, _create(rome.base_url, rome.actor_id, text="pending")))[0] == 202

    await _barrier(london, ann, lemmy)
    for follower in (ann, lemmy):
        relayed = _relayed_ids(follower)
        assert unlisted not in relayed and stray["object"]["id"] not in relayed
        assert all("pending" not in json.dumps(a) for a in _announces(follower))


async def _pending(parent, child) -> bool:
    return any(entry["id"] == child.actor_id for entry in (await admin_children(parent))["pending"])


async def test_a_post_sent_in_two_creates_is_relayed_once(make_node, tmp_path, remote_actor):
    europe, london = await _region_with_chapter(make_node, tmp_path)
    ann, lemmy = await remote_actor("ann"), await remote_actor("lem")
    _nodeinfo(lemmy, "lemmy")
    await _followed_by(europe, ann, lemmy)
    first = _create(london.base_url, london.actor_id, text="twice")
    second = {**first, "id": f"{london.base_url}/activities/{uuid.uuid4()}"}  # another Create, the same post
    for create in (first, second):
        status, body = await post_signed_as(london, europe.inbox, create)
        assert status == 202, body
    await _barrier(london, ann, lemmy)
    for follower in (ann, lemmy):
        assert _relayed_ids(follower).count(first["object"]["id"]) == 1, follower.name


async def _three_levels(make_node, tmp_path):
    """world <- europe <- london, and world <- americas; london's report reached world through europe."""
    europe_config = tree_config(tmp_path, "europe", "region")
    americas_config = tree_config(tmp_path, "americas", "region")
    london_config = tree_config(tmp_path, "london", "chapter")
    world = await make_node(
        config=tree_config(
            tmp_path,
            "world",
            "international",
            accept_children_from=(host_of(europe_config.node), host_of(americas_config.node)),
        )
    )
    europe = await make_node(
        config=replace(
            europe_config,
            tree=replace(europe_config.tree, accept_children_from=(host_of(london_config.node),)),
        )
    )
    americas, london = await make_node(config=americas_config), await make_node(config=london_config)
    for child, parent in ((europe, world), (americas, world), (london, europe)):
        assert (await link(child, parent))[0] == 201
        await wait_linked(child, parent)
    await eventually(lambda: _in_tree(world, london))
    return world, europe, americas, london


async def _in_tree(node, member) -> bool:
    return member.actor_id in ids_in(await tree_of(node))


def _announce_of(sender, relayed: dict, origin) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{sender.base_url}/activities/{uuid.uuid4()}",
        "type": "Announce",
        "actor": sender.actor_id,
        "object": relayed,
        "audience": origin.actor_id,
        "to": [PUBLIC],
        "cc": [f"{sender.actor_id}/followers"],
    }


async def test_an_announce_for_a_node_outside_the_senders_subtree_is_not_relayed(make_node, tmp_path, remote_actor):
    world, europe, americas, london = await _three_levels(make_node, tmp_path)
    ann, lemmy = await remote_actor("ann"), await remote_actor("lem")
    _nodeinfo(lemmy, "lemmy")
    await _followed_by(world, ann, lemmy)
    genuine = await _post(london, "London's own words")
    await _barrier(london, ann, lemmy)  # the honest relay, through europe
    status, create = await get_json(await _activity_of(london, genuine))
    assert status == 200, create
    before = {f.name: len(_announces(f)) for f in (ann, lemmy)}

    # americas relays london's genuine post (true, and served by london) as if london were below it:
    # one world already has, and one it never had (europe is down, so only americas could bring it)
    status, body = await post_signed_as(americas, world.inbox, _announce_of(americas, create, london))
    assert status == 202, body
    await europe.stop()
    unseen = await _post(london, "London's words europe never passed on")
    status, unseen_create = await get_json(await _activity_of(london, unseen))
    assert status == 200, unseen_create
    status, body = await post_signed_as(americas, world.inbox, _announce_of(americas, unseen_create, london))
    assert status == 202, body
    await _barrier(americas, ann, lemmy)
    for follower in (ann, lemmy):
        assert _relayed_ids(follower).count(genuine) == 1
        assert unseen not in _relayed_ids(follower)
        assert len(_announces(follower)) == before[follower.name] + 1  # the barrier alone


async def _activity_of(node, post_id: str) -> str:
    """The id of the Create that published ``post_id`` (from the node's outbox)."""
    status, outbox = await get_json(f"{node.actor_id}/outbox?page=1")
    assert status == 200, outbox
    return next(item["id"] for item in outbox["orderedItems"] if id_of(item.get("object")) == post_id)


async def test_a_forged_or_altered_relayed_activity_is_not_relayed(make_node, tmp_path, remote_actor):
    world, europe, _americas, london = await _three_levels(make_node, tmp_path)
    ann, lemmy = await remote_actor("ann"), await remote_actor("lem")
    _nodeinfo(lemmy, "lemmy")
    await _followed_by(world, ann, lemmy)

    # europe, a linked child of world, relays a post london never wrote (its id answers 404 there)
    forged = _create(london.base_url, london.actor_id, text="London endorses the forger")
    status, body = await post_signed_as(europe, world.inbox, _announce_of(europe, forged, london))
    assert status == 202, body
    # and a post london did write, with its words changed (the origin's copy is what counts)
    genuine = await _post(london, "We meet on Thursday")
    status, create = await get_json(await _activity_of(london, genuine))
    assert status == 200, create
    altered = json.loads(json.dumps(create))
    altered["object"]["content"] = "<p>We meet never</p>"
    status, body = await post_signed_as(europe, world.inbox, _announce_of(europe, altered, london))
    assert status == 202, body
    # and a post with a proof, but not london's (europe's own key signs it)
    keys = europe.app[KEYRING][europe.config.node.name]
    proved = add_proof(
        _create(london.base_url, london.actor_id, text="signed by the wrong key"),
        private_key=keys.ed25519_private,
        verification_method=london.app[URLS].ed25519_key_id("london"),  # london's key id, europe's key
        created=datetime.now(UTC),
    )
    status, body = await post_signed_as(europe, world.inbox, _announce_of(europe, proved, london))
    assert status == 202, body

    await _barrier(london, ann, lemmy)
    for follower in (ann, lemmy):
        sent = json.dumps(_announces(follower))
        assert "endorses" not in sent and "never" not in sent and "wrong key" not in sent
        assert forged["object"]["id"] not in _relayed_ids(follower)
        assert proved["object"]["id"] not in _relayed_ids(follower)
    embedded = [a["object"] for a in _announces(lemmy) if id_of(a["object"].get("object")) == genuine]
    assert len(embedded) == 1 and "Thursday" in embedded[0]["object"]["content"]
