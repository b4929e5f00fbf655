"""Which server software a follower's host runs (its NodeInfo), for FEP-1b12 relaying.

Lemmy, Mbin, Friendica and PieFed expect a Group to relay its members' activities as
``Announce`` of the activity itself (FEP-1b12); Mastodon and most others want ``Announce``
of the post's id. When a remote actor follows the chapter, :func:`learn` (a preparer for
``Follow``: before the inbox's transaction) fetches its host's NodeInfo once (again after
``REFRESH_SECONDS``), and :func:`remember` (an after-handled hook, in the transaction) keeps
the software's name per host in ``peer_software``. A host whose NodeInfo cannot be had is
kept as unknown and treated as Mastodon-like; that failure is remembered per host too, for
``UNKNOWN_REFRESH_SECONDS``. The follower's host chooses what is fetched, so the fetch passes
the key-fetch gate (per host bounds and budget, failures remembered) and has a deadline of its
own, well inside the item's (:func:`nodeinfo_seconds`): a tarpit's NodeInfo never holds up the
Follow, which is answered without it.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from federation.activitystreams import id_of, origin_of
from federation.client import FetchError
from inbox.handlers import InboxContext, PrepareContext
from node.core.clock import to_epoch
from node.core.db import Connection, fetch_all, fetch_one

log = logging.getLogger("chapterhouse.branches")
FEP_1B12_SOFTWARE = ("lemmy", "mbin", "friendica", "piefed")
REFRESH_SECONDS = 7 * 24 * 3600
UNKNOWN_REFRESH_SECONDS = 3600  # a host whose NodeInfo could not be had is asked again after this
NODEINFO_SECONDS = 5.0  # at most, for both fetches of a host's NodeInfo
NODEINFO_RELS = ("http://nodeinfo.diaspora.software/ns/schema/2.1", "http://nodeinfo.diaspora.software/ns/schema/2.0")


async def known(conn: Connection, host: str):
    return await fetch_one(conn, "SELECT software, fetched_at FROM peer_software WHERE host = ?", (host,))


async def store(conn: Connection, host: str, software: str | None, now: float) -> None:
    await conn.execute(
        "INSERT INTO peer_software (host, software, fetched_at) VALUES (?, ?, ?) ON CONFLICT (host) DO UPDATE SET"
        " software = excluded.software, fetched_at = excluded.fetched_at",
        (host, software, now),
    )


async def fep_1b12_hosts(conn: Connection) -> set[str]:
    rows = await fetch_all(conn, "SELECT host, software FROM peer_software WHERE software IS NOT NULL")
    return {row["host"] for row in rows if row["software"] in FEP_1B12_SOFTWARE}


def inbox_host(inbox: str) -> str:
    return urlsplit(inbox).netloc.lower()


async def _nodeinfo_software(pctx: PrepareContext, origin: str) -> str | None:
    client = pctx.remote_actors.client
    index = await client.get_json(f"{origin}/.well-known/nodeinfo", signer=None, accept="application/json")
    listed = index.get("links")
    entries = listed if isinstance(listed, list) else []
    hrefs = {entry.get("rel"): entry.get("href") for entry in entries if isinstance(entry, dict)}
    href = next((hrefs[rel] for rel in NODEINFO_RELS if isinstance(hrefs.get(rel), str)), None)
    if href is None or origin_of(href).netloc.lower() != origin_of(origin).netloc.lower():
        return None
    document = await client.get_json(href, signer=None, accept="application/json")
    described = document.get("software")
    software = described if isinstance(described, dict) else {}
    name = software.get("name")
    return name.lower()[:64] if isinstance(name, str) else None


def nodeinfo_seconds(pctx: PrepareContext) -> float:
    """The NodeInfo fetch's own deadline: at most half of the item's, so the Follow goes on without it."""
    return min(NODEINFO_SECONDS, pctx.config.federation.inbox_prepare_timeout_seconds / 2)


async def learn(pctx: PrepareContext, activity: dict) -> dict:
    """Before the transaction of a Follow of the chapter: the follower's host software, if not known."""
    actor = id_of(activity.get("actor"))
    if actor is None or actor != pctx.actor_id or id_of(activity.get("object")) != pctx.chapter_id:
        return {}
    parts = origin_of(actor)
    host = parts.netloc.lower()
    row = await known(pctx.reader, host)
    fresh_for = REFRESH_SECONDS if row is not None and row["software"] is not None else UNKNOWN_REFRESH_SECONDS
    if row is not None and to_epoch(pctx.now) - row["fetched_at"] < fresh_for:
        return {}
    origin, gate = f"{parts.scheme}://{parts.netloc}", pctx.remote_actors.gate
    try:
        async with asyncio.timeout(nodeinfo_seconds(pctx)):
            if gate is None:
                software = await _nodeinfo_software(pctx, origin)
            else:
                software = await gate.fetch(f"{origin}/.well-known/nodeinfo", lambda: _nodeinfo_software(pctx, origin))
    except (FetchError, TimeoutError) as error:
        reason = error.reason if isinstance(error, FetchError) else f"no answer within {nodeinfo_seconds(pctx):g} s"
        log.info("NodeInfo of %s could not be had (%s): treated as Mastodon-like", host, reason)
        software = None
    return {"software": (host, software)}


async def remember(ctx: InboxContext, activity: dict) -> None:
    learned = ctx.prepared.get("software")
    if learned is not None:
        await store(ctx.conn, learned[0], learned[1], to_epoch(ctx.now))
