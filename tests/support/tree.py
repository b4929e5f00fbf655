"""Branch-tree helpers for tests: nodes with a level and a place, the handshake by C2S, reading the tree."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp

from federation.multikey import find_multikey
from federation.proofs import verify_proof
from federation.signatures import sign_request
from node.core.appkeys import KEYRING
from node.core.config import TreeConfig
from tests.support.c2s import eventually, get_json, publish
from tests.support.nodes import ADMIN_TOKEN, RunningNode, node_config


def tree_config(
    tmp_path,
    name: str,
    level: str,
    *,
    location: str = "",
    founded: str = "",
    accept_children_from: tuple[str, ...] = (),
    allow_skipping_levels: bool = True,
    report_interval_seconds: float = 0.3,
):
    config = node_config(tmp_path, name)
    node = replace(
        config.node,
        level=level,
        location=location or name.title(),
        founded=founded or "2020-01-01",
        display_name=f"IOPS {name.title()}",
    )
    tree = TreeConfig(
        accept_children_from=accept_children_from,
        allow_skipping_levels=allow_skipping_levels,
        report_interval_seconds=report_interval_seconds,
    )
    return replace(config, node=node, tree=tree)


def host_of(node) -> str:
    return node.base_url.split("://", 1)[1]


async def link(child, parent) -> tuple[int, dict]:
    """The child's admin asks ``parent`` to be its parent (C2S Join)."""
    status, body, _ = await publish(child, {"type": "Join", "object": parent.actor_id})
    return status, body


async def answer(parent, join_id: str, kind: str = "Accept", **extra) -> tuple[int, dict]:
    status, body, _ = await publish(parent, {"type": kind, "object": join_id, **extra})
    return status, body


async def admin_children(node) -> dict:
    status, body = await get_json(f"{node.base_url}/admin/children", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert status == 200, body
    return body


async def actor(node) -> dict:
    status, body = await get_json(node.actor_id)
    assert status == 200, body
    return body


async def tree_of(node) -> dict:
    status, body = await get_json(f"{node.actor_id}/tree", accept="application/json")
    assert status == 200, body
    return body


async def children_ids(node) -> list[str]:
    status, body = await get_json(f"{node.actor_id}/children?page=1")
    assert status == 200, body
    return body.get("orderedItems", [])  # an empty page has none


async def wait_linked(child, parent, *, within: float = 15.0) -> None:
    async def both_show_it():
        return (await actor(child)).get("parent") == parent.actor_id and child.actor_id in await children_ids(parent)

    await eventually(both_show_it, timeout=within)


async def wait_unlinked(child, parent, *, within: float = 15.0) -> None:
    async def neither_shows_it():
        return "parent" not in await actor(child) and child.actor_id not in await children_ids(parent)

    await eventually(neither_shows_it, timeout=within)


def ids_in(tree: dict) -> set[str]:
    found, stack = set(), [tree]
    while stack:
        node = stack.pop()
        found.add(node["id"])
        stack.extend(node["children"])
    return found


async def verify_report(report: dict) -> None:
    """The test's own check of a report's proof: the origin's Multikey, fetched from its actor."""
    origin = report["attributedTo"]
    status, document = await get_json(origin)
    assert status == 200, document
    key = find_multikey(document, report["proof"]["verificationMethod"])
    assert key is not None and report["proof"]["verificationMethod"].startswith(origin + "#")
    verify_proof(report, key)


async def post_signed_as(node: RunningNode, url: str, activity: dict) -> tuple[int, dict]:
    """POST an activity to ``url`` signed with ``node``'s chapter key (a forged or replayed message)."""
    keys = node.app[KEYRING][node.config.node.name]
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        url,
        body,
        key_id=f"{node.actor_id}#main-key",
        private_key=keys.rsa_private,
        now=datetime.now(UTC),
        headers={"Content-Type": "application/activity+json"},
    )
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)
