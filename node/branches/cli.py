"""``chapterhouse link`` and ``chapterhouse unlink``: the admin's two tree commands, for a running node.

Both post to the node's own outbox with the admin token, exactly what an admin's client would:
``link`` resolves the parent's handle by WebFinger (``@name@host``; an actor id is taken as
is) and posts ``Join`` of it; ``unlink`` reads the node's own actor for its ``parent`` and posts
``Leave`` of it. Each prints the node's answer (the activity's id, or the error and what to do)
and exits 0 on success, 1 on a refusal. Only the node's own base URL and the parent's host are
contacted, with the scheme of the node's own base URL (a federation on a LAN may run on http).
"""

from __future__ import annotations

import json

import aiohttp

from node.core.config import Config
from node.core.urls import Urls

ACTIVITY_JSON = "application/activity+json"


def _print(outcome: dict) -> None:
    print(json.dumps(outcome, indent=2))


async def resolve(session: aiohttp.ClientSession, handle: str, scheme: str) -> str:
    """An ``@name@host`` handle's actor id (WebFinger, rel self); an http(s) URL is returned as is."""
    if handle.startswith(("http://", "https://")):
        return handle
    name, _, host = handle.lstrip("@").partition("@")
    if not name or not host:
        raise ValueError(f"{handle!r} is not a handle like @name@host")
    url = f"{scheme}://{host}/.well-known/webfinger"
    async with session.get(url, params={"resource": f"acct:{name}@{host}"}) as response:
        if response.status != 200:
            raise ValueError(f"WebFinger of {handle} at {host} answered {response.status}")
        document = await response.json(content_type=None)
    for entry in document.get("links", []):
        if entry.get("rel") == "self" and entry.get("type", ACTIVITY_JSON).startswith("application/"):
            return entry["href"]
    raise ValueError(f"WebFinger of {handle} names no actor (no link rel=self)")


async def _post(session: aiohttp.ClientSession, config: Config, activity: dict) -> int:
    outbox = Urls(config.node.base_url).outbox(config.node.name)
    async with session.post(
        outbox, json=activity, headers={"Authorization": f"Bearer {config.admin.token}", "Content-Type": ACTIVITY_JSON}
    ) as response:
        body = await response.json(content_type=None)
        _print({"status": response.status, **body})
        return 0 if response.status < 300 else 1


async def link(config: Config, parent: str) -> int:
    scheme = config.node.base_url.split("://", 1)[0]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        try:
            parent_id = await resolve(session, parent, scheme)
        except (ValueError, aiohttp.ClientError) as error:
            _print({"error": str(error), "hint": "check the handle; the parent's node must be reachable"})
            return 1
        return await _post(session, config, {"type": "Join", "object": parent_id})


async def unlink(config: Config) -> int:
    urls = Urls(config.node.base_url)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.get(urls.actor(config.node.name), headers={"Accept": ACTIVITY_JSON}) as response:
            actor = await response.json(content_type=None)
        if not actor.get("parent"):
            _print({"error": "this node is linked below no parent", "hint": "see GET /admin/children"})
            return 1
        return await _post(session, config, {"type": "Leave", "object": actor["parent"]})
