"""Relaying to followers of a region: each kind of follower gets what it understands.

A bovine-driven follower (an independent implementation) receives the region's Announce of a
chapter's post, verifies its HTTP signature, and fetches the original from the chapter. A
follower whose server says (NodeInfo) it is Lemmy gets the activity itself (FEP-1b12), edits
included, while a Mastodon-like follower gets one Announce of the post's id.
"""

from __future__ import annotations

import asyncio

from federation.activitystreams import id_of
from tests.support.c2s import eventually, publish
from tests.support.tree import host_of, link, tree_config, wait_linked


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
