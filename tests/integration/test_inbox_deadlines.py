"""A stranger's activity cannot stall the inbox: its network work has a deadline, runs beside
the rest of the batch, goes through the fetch gate, and starts only once the sender is checked.

A hostile linked child sends reports whose author lives on a server that never answers (a raw
socket that reads the request and stays silent); an honest Follow arrives in the same batch.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.proofs import add_proof
from node.core.db import fetch_all
from tests.support.c2s import eventually
from tests.support.nodes import with_federation
from tests.support.raw_peer import RawPeer
from tests.support.tree import actor, host_of, link, post_signed_as, tree_config

DEADLINE = 1.0


def _report_naming(child, parent, origin: str) -> dict:
    """An Add of a BranchReport by ``origin`` (a server that never answers), sent by ``child``;
    well formed, with a proof by a key only ``origin`` could publish."""
    report = add_proof(
        {
            "type": "BranchReport",
            "attributedTo": origin,
            "published": "2030-01-01T00:00:00.000Z",
            "memberCount": 3,
            "level": "chapter",
            "parent": child.actor_id,
        },
        private_key=Ed25519PrivateKey.generate(),
        verification_method=f"{origin}#ed25519-key",
        created=datetime.now(UTC),
    )
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{child.base_url}/activities/{uuid.uuid4()}",
        "type": "Add",
        "actor": child.actor_id,
        "object": report,
        "target": f"{parent.actor_id}/children",
    }


async def _items(node) -> dict[str, dict]:
    rows = await fetch_all(node.db.reader, "SELECT activity_id, state, last_error, type FROM inbox_items")
    return {row["activity_id"]: dict(row) for row in rows}


async def _linked_region(make_node, tmp_path, **federation):
    london_config = tree_config(tmp_path, "london", "chapter")
    europe_config = tree_config(tmp_path, "europe", "region", accept_children_from=(host_of(london_config.node),))
    europe = await make_node(config=with_federation(europe_config, **federation), start_workers=False)
    london = await make_node(config=london_config)
    assert (await link(london, europe))[0] == 201

    async def linked():
        await europe.settle()
        return (await actor(london)).get("parent") == europe.actor_id

    await eventually(linked, timeout=15)
    await europe.settle()
    return europe, london


async def test_a_silent_server_named_by_one_item_does_not_hold_up_the_batch(make_node, tmp_path, remote_actor):
    europe, london = await _linked_region(make_node, tmp_path, inbox_prepare_timeout_seconds=DEADLINE)
    silent = await RawPeer(behaviour="silent").start()
    try:
        hostile = _report_naming(london, europe, f"{silent.base}/users/nobody")
        assert (await post_signed_as(london, europe.inbox, hostile))[0] == 202
        ann = await remote_actor("ann")
        follow = ann.activity("Follow", europe.actor_id)
        assert (await ann.post(europe.inbox, follow))[0] == 202

        started = time.monotonic()
        await europe.inbox_worker.run_single_cycle()  # both items, in one batch
        elapsed = time.monotonic() - started
        assert elapsed < DEADLINE + 2, f"the batch took {elapsed:.1f} s: the silent fetch held it up"
        items = await _items(europe)
        assert items[follow["id"]]["state"] == "done"
        assert items[hostile["id"]]["state"] == "queued"  # tried again later, not lost
        assert "inbox_prepare_timeout_seconds" in items[hostile["id"]]["last_error"]
        assert silent.requests and silent.requests[0].path == "/users/nobody"
    finally:
        await silent.stop()


async def test_actor_fetches_for_inbox_items_pass_the_per_host_gate(make_node, tmp_path):
    """Five reports naming five authors on one silent host: at most ``key_fetches_per_host``
    fetches reach it at once; the others wait their turn until the host proves slow (no fetch
    of its ended within ``key_fetch_slow_seconds``), then are refused without any network."""
    europe, london = await _linked_region(
        make_node,
        tmp_path,
        inbox_prepare_timeout_seconds=DEADLINE,
        key_fetches_per_host=2,
        key_fetch_slow_seconds=DEADLINE / 2,
    )
    silent = await RawPeer(behaviour="silent").start()
    try:
        sent = [_report_naming(london, europe, f"{silent.base}/users/n{i}") for i in range(5)]
        for activity in sent:
            assert (await post_signed_as(london, europe.inbox, activity))[0] == 202
        await europe.inbox_worker.run_single_cycle()
        assert len(silent.requests) == 2
        errors = [(await _items(europe))[a["id"]]["last_error"] for a in sent]
        assert sum("slow to answer" in error for error in errors) == 3, errors
    finally:
        await silent.stop()


async def test_a_report_from_a_node_that_is_no_linked_child_fetches_nothing(make_node, tmp_path):
    """The sender is checked first: a stranger's report naming a server gets no request to it."""
    europe = await make_node(config=tree_config(tmp_path, "europe", "region"), start_workers=False)
    rome = await make_node(config=tree_config(tmp_path, "rome", "chapter"))
    silent = await RawPeer(behaviour="silent").start()
    try:
        report = _report_naming(rome, europe, f"{silent.base}/users/nobody")
        assert (await post_signed_as(rome, europe.inbox, report))[0] == 202
        await europe.inbox_worker.run_single_cycle()
        item = (await _items(europe))[report["id"]]
        assert item["state"] == "dead" and "not a linked child" in item["last_error"]
        assert silent.requests == []
    finally:
        await silent.stop()
