"""Forged and stale reports are refused, each with its reason kept and logged.

A region (linked, so its signature is accepted) pushes to the international reports that must
not be taken: a report whose proof was made with another node's key, a genuine report with its
member count changed, a genuine report of a node that is not in the subtree, an older report
than the one kept; and a node outside the tree pushes its own. Each inbox item ends dead with
the reason, and the tree at the top still holds only the genuine reports.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

from federation.proofs import add_proof
from node.branches import reports
from node.core.appkeys import KEYRING, URLS
from node.core.db import fetch_one
from node.core.vocabulary import context
from tests.support.c2s import eventually
from tests.support.tree import admin_children, answer, host_of, link, post_signed_as, tree_config, tree_of, wait_linked


def _facts(node, *, parent: str | None, members: int = 0) -> dict:
    return {
        "level": node.config.node.level,
        "name": node.config.node.display_name,
        "location": node.config.node.location,
        "founded": node.config.node.founded,
        "memberCount": members,
        "parent": parent,
        "linked": None,
    }


def _signed(node, facts: dict, *, when: datetime | None = None) -> dict:
    return reports.signed_report(
        node.app[URLS], node.app[KEYRING][node.config.node.name], facts, when or datetime.now(UTC)
    )


async def _push(sender, parent, report: dict) -> str:
    """``sender`` (really) signs an Add of ``report`` to ``parent``'s children; the Add's id."""
    add = {
        "@context": context(),
        "id": f"{sender.base_url}/activities/{uuid.uuid4()}",
        "type": "Add",
        "actor": sender.actor_id,
        "object": report,
        "target": f"{parent.actor_id}/children",
        "to": [parent.actor_id],
    }
    status, body = await post_signed_as(sender, parent.inbox, add)
    assert status == 202, body
    return add["id"]


async def _dead_reason(node, activity_id: str) -> str:
    async def dead():
        row = await fetch_one(
            node.db.reader, "SELECT state, last_error FROM inbox_items WHERE activity_id = ?", (activity_id,)
        )
        return row["last_error"] if row is not None and row["state"] == "dead" else None

    return await eventually(dead)


async def test_forged_stale_and_foreign_reports_are_refused(make_node, tmp_path, caplog):
    europe_config = tree_config(tmp_path, "europe", "region")
    london_config = tree_config(tmp_path, "london", "chapter")  # europe's admin accepts it
    world = await make_node(
        config=tree_config(tmp_path, "world", "international", accept_children_from=(host_of(europe_config.node),))
    )
    europe = await make_node(config=europe_config)
    london = await make_node(config=london_config)
    zurich = await make_node(config=tree_config(tmp_path, "zurich", "chapter"))
    assert (await link(europe, world))[0] == 201
    await wait_linked(europe, world)
    assert (await link(london, europe))[0] == 201

    async def pending():
        return (await admin_children(europe))["pending"]

    assert (await answer(europe, (await eventually(pending))[0]["join"]))[0] == 201
    await wait_linked(london, europe)

    async def london_at_top():
        tree = await tree_of(world)
        region = tree["children"][0] if tree["children"] else {"children": []}
        return next((c for c in region["children"] if c["id"] == london.actor_id and c["report"]), None)

    genuine = (await eventually(london_at_top))["report"]

    # a valid proof, but made with another node's key: under london's key id, and under zurich's own
    stolen = {k: v for k, v in genuine.items() if k != "proof"}
    under_london = add_proof(
        stolen,
        private_key=zurich.app[KEYRING]["zurich"].ed25519_private,
        verification_method=f"{london.actor_id}#ed25519-key",
        created=datetime.now(UTC),
    )
    under_zurich = add_proof(
        stolen,
        private_key=zurich.app[KEYRING]["zurich"].ed25519_private,
        verification_method=f"{zurich.actor_id}#ed25519-key",
        created=datetime.now(UTC),
    )
    assert "does not verify" in await _dead_reason(world, await _push(europe, world, under_london))
    assert "a key of another actor" in await _dead_reason(world, await _push(europe, world, under_zurich))

    # a changed member count under a good proof
    inflated = copy.deepcopy(genuine)
    inflated["memberCount"] = 999
    assert "does not verify" in await _dead_reason(world, await _push(europe, world, inflated))

    # a genuine report of a node outside the subtree: claiming europe as parent (its actor says not),
    # and claiming none
    claims_europe = _signed(zurich, _facts(zurich, parent=europe.actor_id, members=50))
    assert "its actor shows None" in await _dead_reason(world, await _push(europe, world, claims_europe))
    no_parent = _signed(zurich, _facts(zurich, parent=None, members=50))
    assert "not in the subtree" in await _dead_reason(world, await _push(europe, world, no_parent))

    # an older report than the one kept (genuinely signed by london, an hour before)
    older = _signed(
        london,
        {**_facts(london, parent=europe.actor_id, members=7), "linked": genuine.get("linked")},
        when=datetime.now(UTC) - timedelta(hours=1),
    )
    assert "older than the report" in await _dead_reason(world, await _push(europe, world, older))

    # a node outside the tree pushing its own report
    assert "not a linked child" in await _dead_reason(world, await _push(zurich, world, no_parent))

    tree = await tree_of(world)
    london_node = tree["children"][0]["children"][0]
    assert london_node["report"] == genuine and london_node["memberCount"] == 0
    assert zurich.actor_id not in str(tree)
    refusals = [r.getMessage() for r in caplog.records if "report in" in r.getMessage() and "refused" in r.getMessage()]
    assert len({message.split(" from ")[0] for message in refusals}) >= 7  # each refusal logged
