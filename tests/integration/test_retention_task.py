"""The pruning task runs in a started node (node.core.retention's cleanup_ctx): a received
activity, once processed and past ``[storage] keep_processed_days``, is deleted in the
background; nothing else needs to ask for it."""

from __future__ import annotations

from dataclasses import replace

from node.core.db import fetch_all
from tests.support.c2s import eventually
from tests.support.nodes import node_config


async def _stored(node) -> list[str]:
    rows = await fetch_all(node.db.reader, "SELECT activity_id, state FROM inbox_items")
    return [f"{row['activity_id']} {row['state']}" for row in rows]


async def test_a_started_node_prunes_what_it_processed_past_retention(make_node, remote_actor, tmp_path):
    config = node_config(tmp_path, "london")
    # kept a tenth of a second (in days), pruned every fifth of a second
    storage = replace(config.storage, keep_processed_days=0.1 / 86_400, prune_interval_seconds=0.2)
    london = await make_node(config=replace(config, storage=storage))
    alice = await remote_actor("alice")
    follow = alice.activity("Follow", london.actor_id)
    assert (await alice.post(london.inbox, follow))[0] == 202

    async def gone():
        stored = await _stored(london)
        return not stored and "pruned"

    await eventually(gone, timeout=10)  # processed (done), then deleted by the background task
