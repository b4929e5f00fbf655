"""How a page names a branch: its display name and place, never a raw actor URL.

A branch of this node's subtree is named by its own signed report (kept in
``branch_reports``); any other node (a parent, a link request not yet answered) by its actor
document as the remote actor cache holds it. Neither is fetched here: a page never waits on the
network for a name. When neither is known, the branch's host stands in, which is still what a
person recognises. ``site`` is the branch's home page (its host's ``/``). This node itself is
named by its configuration (:func:`this_node`). In a sentence (a refusal's reason), a branch is
its name and place as one message (:func:`label`: "IOPS London (London)"), shown translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from federation import jsonio
from node.branches import reports
from node.core.config import Config
from node.core.db import Connection, fetch_one
from node.core.i18n import N_


@dataclass(frozen=True)
class BranchName:
    id: str
    name: str
    place: str | None
    level: str | None
    site: str
    founded: str | None = None


def site_of(actor_id: str) -> str:
    parts = urlsplit(actor_id)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else actor_id


def _place(location) -> str | None:
    if isinstance(location, dict):
        location = location.get("name")
    return location if isinstance(location, str) and location else None


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def from_document(actor_id: str, document: dict) -> BranchName:
    """A name from a report or an actor document (the same fields: name, location, level, founded)."""
    return BranchName(
        id=actor_id,
        name=_text(document.get("name")) or _text(document.get("preferredUsername")) or urlsplit(actor_id).netloc,
        place=_place(document.get("location")),
        level=_text(document.get("level")),
        site=site_of(actor_id),
        founded=_text(document.get("founded")),
    )


def this_node(config: Config, actor_id: str) -> BranchName:
    """This node by its configuration (``[node] display_name``, ``location``, ``level``)."""
    node = config.node
    return from_document(
        actor_id, {"name": node.display_name, "location": node.location, "level": node.level, "founded": node.founded}
    )


def label(branch: BranchName) -> str:
    """A branch in a sentence: its name and place, a message whose punctuation is translated too."""
    return N_("{name} ({place})", name=branch.name, place=branch.place) if branch.place else branch.name


async def cached_actor(conn: Connection, actor_id: str) -> dict | None:
    row = await fetch_one(conn, "SELECT data FROM remote_actors WHERE id = ?", (actor_id,))
    return jsonio.loads(row["data"]) if row is not None else None


async def name_of(conn: Connection, actor_id: str) -> BranchName:
    kept = await reports.get(conn, actor_id)
    if kept is not None:
        return from_document(actor_id, jsonio.loads(kept["report"]))
    return from_document(actor_id, await cached_actor(conn, actor_id) or {})


async def names_of(conn: Connection, actor_ids) -> dict[str, BranchName]:
    return {actor_id: await name_of(conn, actor_id) for actor_id in dict.fromkeys(actor_ids) if actor_id}
