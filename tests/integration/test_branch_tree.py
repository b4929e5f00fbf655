"""The branch tree with seven real nodes on loopback: one international, two regions, four chapters.

Every link is made by the signed handshake (client-to-server Join, the parent admin's Accept),
one is refused by the admin, one is accepted automatically from a configured host; a cycle
and a second parent are refused by the rules, even where an admin says Accept; the top's
``/tree`` holds every chapter's own signed report (the test verifies each proof itself,
against the origin's published key); public posts reach a follower of the international
exactly once, followers-only posts never; a Leave and a Remove each take a branch out of the
tree and out of relaying.
"""

from __future__ import annotations

import asyncio
import re

import aiohttp

from federation.activitystreams import PUBLIC, id_of
from tests.support.c2s import eventually, publish
from tests.support.tree import (
    actor,
    admin_children,
    answer,
    children_ids,
    host_of,
    ids_in,
    link,
    post_signed_as,
    tree_config,
    tree_of,
    verify_report,
    wait_linked,
    wait_unlinked,
)


async def _pending_join(parent, child) -> str:
    async def listed():
        return [entry["join"] for entry in (await admin_children(parent))["pending"] if entry["id"] == child.actor_id]

    return (await eventually(listed))[0]


async def _handshake(child, parent) -> None:
    status, body = await link(child, parent)
    assert status == 201, body
    status, body = await answer(parent, await _pending_join(parent, child))
    assert status == 201 and body["type"] == "Accept", body
    await wait_linked(child, parent)


async def _seven(make_node, tmp_path):
    europe_config = tree_config(tmp_path, "europe", "region", location="Brussels", founded="2019-05-01")
    world = await make_node(
        config=tree_config(
            tmp_path,
            "world",
            "international",
            location="Geneva",
            founded="2015-01-01",
            accept_children_from=(host_of(europe_config.node),),
        )
    )
    europe = await make_node(config=europe_config)
    americas = await make_node(
        config=tree_config(tmp_path, "americas", "region", location="Panama", founded="2019-06-01")
    )
    chapters = {}
    for name, place, founded in (
        ("london", "London", "2021-03-14"),
        ("paris", "Paris", "2022-09-01"),
        ("boston", "Boston", "2020-02-02"),
        ("lima", "Lima", "2023-04-04"),
    ):
        chapters[name] = await make_node(config=tree_config(tmp_path, name, "chapter", location=place, founded=founded))
    return world, europe, americas, chapters


async def _members(node, *actors) -> None:
    for member in actors:
        status, body, _ = await publish(
            node, {"type": "Add", "object": member.id, "target": f"{node.actor_id}/members"}
        )
        assert status == 201, body


def _announces_of(follower, post_id: str) -> list[dict]:
    return [
        r.activity
        for r in follower.received
        if r.activity.get("type") == "Announce" and id_of(r.activity.get("object")) == post_id
    ]


async def _post(node, content: str, *, to: list[str] | None = None) -> str:
    note = {"type": "Note", "content": f"<p>{content}</p>"}
    if to is not None:
        note["to"] = to
    status, body, _ = await publish(node, note)
    assert status == 201, body
    return body["object"]


async def _arrives(follower, post_id: str) -> dict:
    announces = await eventually(lambda: asyncio.sleep(0, _announces_of(follower, post_id)), timeout=15)
    return announces[0]


async def test_seven_nodes_link_report_relay_and_unlink(make_node, tmp_path, remote_actor):
    world, europe, americas, chapters = await _seven(make_node, tmp_path)
    london, paris, boston, lima = (chapters[n] for n in ("london", "paris", "boston", "lima"))

    # europe is accepted automatically (its host is in world's accept_children_from); americas by the admin
    status, body = await link(europe, world)
    assert status == 201, body
    await wait_linked(europe, world)
    assert (await admin_children(world))["pending"] == []
    await _handshake(americas, world)
    for chapter, region in ((london, europe), (paris, europe), (boston, americas)):
        await _handshake(chapter, region)

    # lima's first request is refused by the admin, with a reason that reaches lima; its second is accepted
    status, body = await link(lima, americas)
    assert status == 201, body
    join = await _pending_join(americas, lima)
    status, body = await answer(americas, join, "Reject", content="Lima has no founding minutes yet")
    assert status == 201, body

    async def refused_at_lima():
        parent = (await admin_children(lima))["parent"]
        return parent is not None and parent["state"] == "refused" and parent

    assert (await eventually(refused_at_lima))["reason"] == "Lima has no founding minutes yet"
    assert [e["join"] for e in (await admin_children(americas))["refused"]] == [join]
    await _handshake(lima, americas)
    assert set(await children_ids(americas)) == {boston.actor_id, lima.actor_id}

    # a second parent: refused at the child's own outbox, and by the other parent if it is asked anyway
    status, body = await link(london, americas)
    assert status == 409 and "at most one parent" in body["error"], body
    forged = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{london.base_url}/activities/second-join",
        "type": "Join",
        "actor": london.actor_id,
        "object": americas.actor_id,
    }
    assert (await post_signed_as(london, americas.inbox, forged))[0] == 202

    async def refused_second():
        return [e for e in (await admin_children(americas))["refused"] if e["join"] == forged["id"]]

    assert "at most one parent" in (await eventually(refused_second))[0]["reason"]

    # a cycle: world asking its own grandchild. Refused at world's outbox; and when the Join reaches
    # london anyway, refused there at once and again when london's admin says Accept
    status, body = await link(world, london)
    assert status == 422, body
    cycle = {
        **forged,
        "id": f"{world.base_url}/activities/cycle-join",
        "actor": world.actor_id,
        "object": london.actor_id,
    }
    assert (await post_signed_as(world, london.inbox, cycle))[0] == 202

    async def refused_cycle():
        return [e for e in (await admin_children(london))["refused"] if e["join"] == cycle["id"]]

    assert "cycle" in (await eventually(refused_cycle))[0]["reason"]
    status, body = await answer(london, cycle["id"], "Accept")
    assert status == 422 and "cycle" in body["error"], body
    assert world.actor_id not in await children_ids(london) and "parent" not in await actor(world)

    # the tree at the top: every chapter with its own signed report, member counts summed up the tree
    members = [await remote_actor(f"m{i}") for i in range(3)]
    await _members(london, members[0], members[1])
    await _members(boston, members[2])

    async def complete():
        tree = await tree_of(world)
        counts = {c["id"]: c["memberCount"] for c in tree["children"]}
        return tree if len(ids_in(tree)) == 7 and counts == {europe.actor_id: 2, americas.actor_id: 1} else None

    tree = await eventually(complete, timeout=20)
    assert tree["memberCount"] == 3 and tree["level"] == "international" and tree["location"] == "Geneva"
    regions = {c["id"]: c for c in tree["children"]}
    assert {c["id"] for c in regions[europe.actor_id]["children"]} == {london.actor_id, paris.actor_id}
    assert {c["id"] for c in regions[americas.actor_id]["children"]} == {boston.actor_id, lima.actor_id}
    stack = list(tree["children"])
    while stack:
        node = stack.pop()
        stack.extend(node["children"])
        assert node["report"]["attributedTo"] == node["id"] and node["linked"]
        await verify_report(node["report"])  # each node's own statement, checked by the test itself
    london_node = next(c for c in regions[europe.actor_id]["children"] if c["id"] == london.actor_id)
    assert (london_node["level"], london_node["location"], london_node["founded"], london_node["memberCount"]) == (
        "chapter",
        "London",
        "2021-03-14",
        2,
    )

    # the top's home page: the newest chapters with place and founding date, the tree with member counts
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{world.base_url}/@world", headers={"Accept": "text/html"}) as response,
    ):
        page = await response.text()
    assert response.status == 200 and "Newest chapters" in page
    newest = [page.index(f"IOPS {name}") for name in ("Lima", "Paris", "London", "Boston")]  # by founding date
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())  # what a reader sees, tags and layout aside
    assert newest == sorted(newest) and "IOPS Lima Lima · founded April 4, 2023 · 0 members" in text
    assert "IOPS Europe region, Brussels: 2 members" in text

    # relaying: a follower of the international gets each public post of the subtree once
    ann = await remote_actor("ann")
    assert (await ann.post(world.inbox, ann.activity("Follow", world.actor_id)))[0] == 202
    await eventually(lambda: asyncio.sleep(0, [r for r in ann.received if r.activity["type"] == "Accept"]))
    hidden = await _post(london, "for our followers only", to=[f"{london.actor_id}/followers"])
    public = await _post(london, "the chapter meets on Thursday")
    announce = await _arrives(ann, public)
    assert announce["actor"] == world.actor_id and announce["audience"] == london.actor_id
    assert PUBLIC in announce["to"] and announce["object"] == public
    barrier = await _post(boston, "Boston meets on Friday")
    await _arrives(ann, barrier)
    await _post(london, "a redelivery would not double it")  # more traffic through the same levels
    assert len(_announces_of(ann, public)) == 1 and _announces_of(ann, hidden) == []

    # paris leaves europe; americas removes lima: out of the tree and out of relaying
    status, body, _ = await publish(paris, {"type": "Leave", "object": europe.actor_id})
    assert status == 201, body
    await wait_unlinked(paris, europe)
    status, body, _ = await publish(
        americas, {"type": "Remove", "object": lima.actor_id, "target": f"{americas.actor_id}/children"}
    )
    assert status == 201, body
    await wait_unlinked(lima, americas)

    async def pruned():
        tree = await tree_of(world)
        return tree if not {paris.actor_id, lima.actor_id} & ids_in(tree) else None

    assert len(ids_in(await eventually(pruned))) == 5
    gone = [await _post(paris, "Paris alone"), await _post(lima, "Lima alone")]
    await _arrives(ann, await _post(london, "after the unlinking"))
    await _arrives(ann, await _post(boston, "after the unlinking too"))
    assert all(_announces_of(ann, post) == [] for post in gone)
