"""How the fediverse finds the node: WebFinger, host-meta and NodeInfo 2.0 / 2.1."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

from aiohttp import web

from node.core import objects
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.clock import to_epoch
from node.core.db import fetch_value
from node.core.errors import ApiError
from node.core.urls import INSTANCE_USERNAME
from node.membership import accounts, members

NODEINFO_SCHEMAS = {
    "2.0": "http://nodeinfo.diaspora.software/ns/schema/2.0",
    "2.1": "http://nodeinfo.diaspora.software/ns/schema/2.1",
}


async def _username_for_resource(request: web.Request, resource: str) -> str:
    config, urls = request.app[CONFIG], request.app[URLS]
    resource = unquote(resource.strip())
    usernames = {config.node.name: config.node.name, urls.host.split(":")[0]: INSTANCE_USERNAME}
    if resource.startswith("acct:"):
        user, sep, host = resource[5:].lstrip("@").rpartition("@")
        if not sep or host.lower() != urls.host.lower():
            raise ApiError(404, f"{resource} is not an account on this node", hint=f"accounts here end in @{urls.host}")
        if user in usernames:
            return usernames[user]
        if await accounts.federated_account_username(request.app[DATABASE].reader, urls, urls.actor(user)):
            return user  # a local member account
    else:
        for username in usernames.values():
            if resource in (urls.actor(username), urls.profile(username)):
                return username
        local = await accounts.federated_account_username(request.app[DATABASE].reader, urls, resource)
        if local is not None:
            return local
    raise ApiError(404, f"no account {resource} here", hint=f"try acct:{config.node.name}@{urls.host}")


async def webfinger(request: web.Request) -> web.Response:
    resource = request.query.get("resource")
    if not resource:
        raise ApiError(400, "the resource parameter is required", hint="?resource=acct:name@host")
    username = await _username_for_resource(request, resource)
    urls = request.app[URLS]
    preferred = username if username != INSTANCE_USERNAME else urls.host.split(":")[0]
    body = {
        "subject": f"acct:{preferred}@{urls.host}",
        "aliases": [urls.actor(username), urls.profile(username)],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": urls.actor(username)},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": urls.profile(username)},
        ],
    }
    if username not in (request.app[CONFIG].node.name, INSTANCE_USERNAME):  # member accounts have no profile page
        body["aliases"], body["links"] = body["aliases"][:1], body["links"][:1]
    return web.json_response(body, content_type="application/jrd+json", headers={"Access-Control-Allow-Origin": "*"})


async def host_meta(request: web.Request) -> web.Response:
    base = request.app[URLS].base
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return web.Response(text=xml, content_type="application/xrd+xml")


async def nodeinfo_index(request: web.Request) -> web.Response:
    base = request.app[URLS].base
    links = [{"rel": schema, "href": f"{base}/nodeinfo/{version}"} for version, schema in NODEINFO_SCHEMAS.items()]
    return web.json_response({"links": links})


async def _usage(request: web.Request) -> tuple[dict, int]:
    db, clock, config = request.app[DATABASE], request.app[CLOCK], request.app[CONFIG]
    now = clock.now()
    last = await objects.last_published(db.reader, config.node.name)
    posts = await objects.count_local_posts(db.reader)
    followers = await fetch_value(db.reader, "SELECT COUNT(*) FROM followers WHERE state = 'accepted'")

    def active_within(days: int) -> int:
        return 1 if last is not None and last >= to_epoch(now - timedelta(days=days)) else 0

    return {
        "users": {
            "total": 1 + await accounts.count_accounts(db.reader),
            "activeMonth": active_within(30),
            "activeHalfyear": active_within(182),
        },
        "localPosts": posts,
        "localComments": 0,
    }, followers


async def nodeinfo(request: web.Request) -> web.Response:
    version = request.match_info["version"]
    if version not in NODEINFO_SCHEMAS:
        raise ApiError(404, f"NodeInfo {version} is not served here", hint="versions: 2.0, 2.1")
    config = request.app[CONFIG]
    usage, followers = await _usage(request)
    software = {"name": "chapterhouse", "version": "0.1.0"}
    body = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": usage,
        "metadata": {
            "nodeName": config.node.display_name,
            "nodeDescription": config.node.summary,
            "chapterhouse": {
                "level": config.node.level,
                "chapter": config.node.name,
                "followers": followers,
                "members": await members.count_in_state(request.app[DATABASE].reader, config.node.name),
            },
        },
    }
    return web.json_response(
        body, content_type="application/json", headers={"Content-Profile": NODEINFO_SCHEMAS[version]}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/.well-known/webfinger", webfinger)
    app.router.add_get("/.well-known/host-meta", host_meta)
    app.router.add_get("/.well-known/nodeinfo", nodeinfo_index)
    app.router.add_get("/nodeinfo/{version}", nodeinfo)
