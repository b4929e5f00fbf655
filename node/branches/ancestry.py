"""Walking up the tree through actor documents (network: outside any transaction).

Each node's actor shows its ``parent`` while linked. :func:`ancestors` follows them up from a
node, fetching each document fresh (a cached copy may predate a link), at most
``reports.MAX_DEPTH`` steps; a node that cannot be fetched ends the walk there.
"""

from __future__ import annotations

import logging

from federation.activitystreams import id_of
from federation.actors import RemoteActors
from federation.client import FetchError
from node.branches.reports import MAX_DEPTH

log = logging.getLogger("chapterhouse.branches")


async def ancestors(remote_actors: RemoteActors, start: str | None, *, local: str) -> list[str]:
    """``start`` and the parents above it, nearest first; stops at ``local`` (this node: a cycle)."""
    found: list[str] = []
    current = start
    while current is not None and len(found) < MAX_DEPTH and current not in found:
        found.append(current)
        if current == local:
            break
        try:
            actor = await remote_actors.get_actor(current, refresh=True)
        except FetchError as error:
            log.info("walking up the tree: %s could not be fetched (%s); the walk stops there", current, error.reason)
            break
        current = id_of(actor.data.get("parent"))
    return found
