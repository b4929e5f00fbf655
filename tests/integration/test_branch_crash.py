"""A region killed (SIGKILL) while a chapter's post passes through it: the post still reaches a
follower of the international, once.

The region runs as a child process (``tests.support.subprocess_node``); it is killed as soon as
its database holds the chapter's Create (read with ``sqlite3``, read-only, as an operator would),
whether or not it had relayed it yet, then started again on the same port and database. The
relay is recorded in the same transaction as the received post, so a restart either finds the
post unprocessed (and relays it) or processed with its relay queued (and delivers it): never
lost, never doubled.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support.c2s import eventually, publish
from tests.support.stores import query
from tests.support.subprocess_node import SubprocessNode
from tests.support.tree import ids_in, link, tree_config, tree_of, wait_linked


@pytest.fixture
async def region_process(tmp_path):
    started: list[SubprocessNode] = []

    def factory(**overrides) -> SubprocessNode:
        node = SubprocessNode(tmp_path / "region", "europe", overrides=overrides)
        started.append(node)
        return node

    yield factory
    for node in started:
        node.kill()


def _stored(database, activity_type: str, actor: str) -> str | None:
    """The state of the region's inbox item (queued, done), None while it has none."""
    rows = query(database, "SELECT state FROM inbox_items WHERE type = ? AND actor_id = ?", (activity_type, actor))
    return rows[0][0] if rows else None


def _announces(follower, post_id: str) -> list[dict]:
    return [
        r.activity
        for r in follower.received
        if r.activity.get("type") == "Announce" and r.activity.get("object") == post_id
    ]


async def test_a_region_killed_mid_relay_still_relays_the_post_once(make_node, tmp_path, remote_actor, region_process):
    london_config = tree_config(tmp_path, "london", "chapter")
    london_host = london_config.node.base_url.split("://", 1)[1]
    region = region_process(
        node={"level": "region", "location": "Brussels", "founded": "2019-05-01"},
        tree={"accept_children_from": [london_host], "report_interval_seconds": 0.3},
    )
    world = await make_node(
        config=tree_config(tmp_path, "world", "international", accept_children_from=(f"127.0.0.1:{region.port}",))
    )
    await region.start()
    london = await make_node(config=london_config)
    assert (await link(region, world))[0] == 201
    await wait_linked(region, world)
    assert (await link(london, region))[0] == 201
    await wait_linked(london, region)
    await eventually(lambda: _has(world, london.actor_id), timeout=20)
    ann = await remote_actor("ann")
    assert (await ann.post(world.inbox, ann.activity("Follow", world.actor_id)))[0] == 202
    await eventually(lambda: asyncio.sleep(0, any(r.activity["type"] == "Accept" for r in ann.received)))

    status, body, _ = await publish(london, {"type": "Note", "content": "<p>through a crash</p>"})
    assert status == 201, body
    post = body["object"]
    state = None
    for _ in range(2000):  # kill the region the moment it holds the post
        state = _stored(region.database, "Create", london.actor_id)
        if state is not None:
            break
        await asyncio.sleep(0.002)
    region.kill()
    print(f"the region was killed holding the post in state {state!r}")  # queued: before its relay
    await region.start()

    await eventually(lambda: asyncio.sleep(0, _announces(ann, post)), timeout=40)
    status, body, _ = await publish(london, {"type": "Note", "content": "<p>after the crash</p>"})
    assert status == 201, body
    await eventually(lambda: asyncio.sleep(0, _announces(ann, body["object"])), timeout=40)
    assert len(_announces(ann, post)) == 1


async def _has(node, actor_id: str) -> bool:
    return actor_id in ids_in(await tree_of(node))
