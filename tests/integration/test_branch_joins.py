"""Link requests under load and under pressure: concurrent Joins to one region, a node that asks
a second parent while it waits for the first, and how often a burst of Joins walks up the tree."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from node.branches import link_store
from node.core import inbox_items
from tests.support.c2s import eventually, publish
from tests.support.remote_actor import RemoteActor
from tests.support.tree import admin_children, answer, link, tree_config, wait_linked, wait_unlinked


async def _pending(parent) -> dict[str, str]:
    return {entry["id"]: entry["join"] for entry in (await admin_children(parent))["pending"]}


async def test_two_chapters_asking_one_region_at_once_are_both_link_requests(make_node, tmp_path):
    europe = await make_node(config=tree_config(tmp_path, "europe", "region"))  # no accept_children_from
    london = await make_node(config=tree_config(tmp_path, "london", "chapter"))
    paris = await make_node(config=tree_config(tmp_path, "paris", "chapter"))
    for _ in range(3):
        asked = await asyncio.gather(link(london, europe), link(paris, europe))
        assert [status for status, _ in asked] == [201, 201], asked

        async def both_listed():
            pending = await _pending(europe)
            return pending if {london.actor_id, paris.actor_id} <= set(pending) else None

        pending = await eventually(both_listed, timeout=15)
        answers = await asyncio.gather(*(answer(europe, pending[c.actor_id]) for c in (london, paris)))
        assert all(status == 201 and body["type"] == "Accept" for status, body in answers), answers
        await asyncio.gather(wait_linked(london, europe), wait_linked(paris, europe))
        for child in (london, paris):
            status, body, _ = await publish(child, {"type": "Leave", "object": europe.actor_id})
            assert status == 201, body
        await asyncio.gather(wait_unlinked(london, europe), wait_unlinked(paris, europe))


async def test_a_node_waiting_for_one_parent_cannot_ask_a_second(make_node, tmp_path):
    """Kept as the first request; the second is refused with the reason, and reaches nobody.
    Withdrawn (Leave), the node may ask another."""
    europe = await make_node(config=tree_config(tmp_path, "europe", "region"))
    americas = await make_node(config=tree_config(tmp_path, "americas", "region"))
    london = await make_node(config=tree_config(tmp_path, "london", "chapter"))
    assert (await link(london, europe))[0] == 201
    await eventually(lambda: _listed(europe, london))

    status, body = await link(london, americas)
    assert status == 409, body
    assert "waits for an answer from IOPS Europe (Europe)" in body["error"] and "Leave" in body["error"]
    assert europe.actor_id not in body["error"]  # the parent by its name and place
    parent = await link_store.current_parent(london.db.reader)
    assert parent is not None and (parent.peer_id, parent.state) == (europe.actor_id, "pending")
    await asyncio.sleep(0.3)
    assert (await admin_children(americas))["pending"] == []

    status, body, _ = await publish(london, {"type": "Leave", "object": europe.actor_id})  # withdrawn
    assert status == 201, body
    assert (await link(london, americas))[0] == 201
    await eventually(lambda: _listed(americas, london))
    await eventually(lambda: _not_listed(europe, london))


async def _listed(parent, child) -> bool:
    return child.actor_id in await _pending(parent)


async def _not_listed(parent, child) -> bool:
    return child.actor_id not in await _pending(parent)


class CountedNode(RemoteActor):
    """A scripted node of the tree (a Group with a level) that counts the GETs of its actor."""

    level: str = "international"
    fetches: int = 0

    def document(self) -> dict:
        return {**super().document(), "type": "Group", "level": self.level, "children": f"{self.id}/children"}

    async def _actor(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return await super()._actor(request)


async def test_a_burst_of_joins_walks_up_the_tree_once(make_node, tmp_path):
    """Europe's parent is a scripted node that counts its fetches; ten Joins from a chapter make
    europe fetch it once (the walk is kept ``ancestry.WALK_SECONDS``), not ten times; the admin's
    Accept walks afresh."""
    world = CountedNode(name="world")
    world.level = "international"
    await world.start()
    chapter = CountedNode(name="rome")
    chapter.level = "chapter"
    await chapter.start()
    try:
        europe = await make_node(config=tree_config(tmp_path, "europe", "region"), start_workers=False)
        async with europe.db.transaction() as conn:  # europe is linked below world (as world's Accept would leave it)
            await link_store.request(
                conn,
                peer_id=world.id,
                role="parent",
                join_id=f"{europe.actor_id}#join",
                level="international",
                inbox=world.inbox,
                shared_inbox=world.shared_inbox,
                collection=f"{world.id}/children",
                now=0,
            )
            await link_store.set_state(conn, world.id, "parent", "linked", 0)
        joins = [
            chapter.activity("Join", europe.actor_id, id=f"{chapter.base}/joins/{uuid.uuid4()}") for _ in range(10)
        ]
        for join in joins:
            status, body = await chapter.post(europe.inbox, join)
            assert status == 202, body
            await europe.inbox_worker.run_single_cycle()  # one Join per batch: nothing shared by a batch
        assert world.fetches == 1
        pending = await _pending(europe)
        assert pending[chapter.id] == joins[-1]["id"]
        status, body = await answer(europe, joins[-1]["id"])
        assert status == 201 and body["type"] == "Accept", body
        assert world.fetches == 2  # the Accept checks the rules with a fresh walk
    finally:
        await world.stop()
        await chapter.stop()


async def test_an_answer_to_a_join_still_in_the_inbox_is_asked_again_later_not_refused(make_node, tmp_path):
    """The race seen with two chapters asking at once: the admin answered a Join the region's inbox had
    not processed yet (or was to try again), and got 404 "not a pending membership request". Now it is 409
    with Retry-After, and the same answer succeeds once the inbox has processed the Join."""
    europe = await make_node(config=tree_config(tmp_path, "europe", "region"), start_workers=False)
    london = await make_node(config=tree_config(tmp_path, "london", "chapter"))
    status, body = await link(london, europe)
    assert status == 201, body
    join_id = body["id"]

    async def stored():
        return await inbox_items.get_by_activity_id(europe.db.reader, join_id)

    assert (await eventually(stored))["state"] == "queued"
    status, body = await answer(europe, join_id)
    assert status == 409 and "still being processed" in body["error"], body
    await europe.settle()
    status, body = await answer(europe, join_id)
    assert status == 201 and body["type"] == "Accept", body
