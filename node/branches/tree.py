"""The tree as data: this node's subtree, built from the signed reports kept here.

``GET <actor id>/tree`` serves :func:`subtree`: for this node and, recursively, each node
below it ``{"id", "level", "name", "location", "founded", "memberCount", "linked",
"report", "children"}``. ``report`` is the node's signed report exactly as received (its proof
intact, so a reader can check each node's own statement without trusting the levels between);
this node's own is made and signed as the tree is served. Direct children are the linked
ones (``linked`` is when this node linked them); deeper nodes hang below the parent their own
report names, through the child their report came by (``linked`` as their report says).
``memberCount`` is a chapter's own; for a region or above it is the sum of the branches below.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from federation.activitystreams import id_of
from node.branches import link_store, reports
from node.core.config import Config
from node.core.db import Connection
from node.core.keys import KeyRing
from node.core.urls import Urls


def _at(epoch: float | None) -> str | None:
    return reports.report_time(datetime.fromtimestamp(epoch, UTC)) if epoch else None


def _node(node_id: str, report: dict | None, *, linked: str | None, level: str | None = None) -> dict:
    report = report or {}
    location = report.get("location")
    return {
        "id": node_id,
        "level": report.get("level", level),
        "name": report.get("name"),
        "location": location.get("name") if isinstance(location, dict) else location,
        "founded": report.get("founded"),
        "memberCount": report.get("memberCount", 0),
        "linked": linked or report.get("linked"),
        "report": report or None,
        "children": [],
    }


def _total(node: dict) -> dict:
    """A region or above counts the members of the branches below it."""
    if node["level"] != "chapter":
        node["memberCount"] = sum(child["memberCount"] for child in node["children"])
    return node


def _branch(node: dict, via: str, below: dict[str, list[dict]], depth: int) -> dict:
    if depth < reports.MAX_DEPTH:
        entries = [entry for entry in below.get(node["id"], []) if entry["via"] == via]
        node["children"] = sorted(
            (_branch(_node(e["origin"], e["report"], linked=None), via, below, depth + 1) for e in entries),
            key=lambda n: (n["name"] or "", n["id"]),
        )
    return _total(node)


async def subtree(reader: Connection, config: Config, urls: Urls, keyring: KeyRing | None, now: datetime) -> dict:
    """This node's subtree; with a ``keyring``, this node's own report is signed too."""
    parent = await link_store.linked_parent(reader)
    facts = await reports.own_facts(
        reader, config, parent=parent.peer_id if parent else None, linked=parent.linked_at if parent else None
    )
    own = reports.signed_report(urls, keyring[config.node.name], facts, now) if keyring is not None else None
    root = _node(urls.actor(config.node.name), own, linked=_at(parent.linked_at) if parent else None)
    if own is None:
        root.update({key: facts[key] for key in ("level", "name", "location", "founded", "memberCount")})
    kept = await reports.all_reports(reader)
    by_origin = {entry["origin"]: entry for entry in kept}
    below: dict[str, list[dict]] = defaultdict(list)
    for entry in kept:
        below[id_of(entry["parent"]) or ""].append(entry)
    for link in await link_store.children_in_state(reader, "linked"):
        reported = by_origin.get(link.peer_id)
        child = _node(
            link.peer_id, reported["report"] if reported else None, linked=_at(link.linked_at), level=link.level
        )
        root["children"].append(_branch(child, link.peer_id, below, 1))
    root["children"].sort(key=lambda n: (n["name"] or "", n["id"]))
    return _total(root)


def chapters(tree: dict) -> list[dict]:
    """Every chapter in a tree, newest founded first."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if node["level"] == "chapter":
            found.append(node)
        stack.extend(node["children"])
    return sorted(found, key=lambda n: (n["founded"] or "", n["linked"] or ""), reverse=True)
