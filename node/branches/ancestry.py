"""Walking up the tree through actor documents (network: outside any transaction).

Each node's actor shows its ``parent`` while linked. :func:`ancestors` follows them up from a
node, fetching each document fresh (a cached copy may predate a link), at most
``reports.MAX_DEPTH`` steps; a node that cannot be fetched ends the walk there. A walk done
for every received Join (``requests.prepare``) takes documents fetched less than
:data:`WALK_SECONDS` ago as they are (``max_age``), so a burst of Joins costs one fetch per
ancestor, not one per Join; the admin's Accept walks afresh (``max_age=None``).
"""

from __future__ import annotations

import logging

from federation.activitystreams import id_of
from federation.actors import RemoteActors
from federation.client import FetchError
from node.branches.reports import MAX_DEPTH

log = logging.getLogger("chapterhouse.branches")


WALK_SECONDS = 30.0  # how old an ancestor's document a Join's walk takes as it is


async def ancestors(
    remote_actors: RemoteActors, start: str | None, *, local: str, max_age: float | None = None
) -> list[str]:
    """``start`` and the parents above it, nearest first; stops at ``local`` (this node: a cycle).
    Each document is fetched afresh, or with ``max_age``, taken from the cache when this process
    fetched it less than that many seconds ago."""
    found: list[str] = []
    current = start
    while current is not None and len(found) < MAX_DEPTH and current not in found:
        found.append(current)
        if current == local:
            break
        try:
            if max_age is None:
                actor = await remote_actors.get_actor(current, refresh=True)
            else:
                actor = await remote_actors.get_actor(current, max_age=max_age)
        except FetchError as error:
            log.info("walking up the tree: %s could not be fetched (%s); the walk stops there", current, error.reason)
            break
        current = id_of(actor.data.get("parent"))
    return found
