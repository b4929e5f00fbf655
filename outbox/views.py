"""``POST /users/{name}/outbox``: the admin publishes as the chapter (ActivityPub section 6)."""

from __future__ import annotations

from aiohttp import web

from node.core.appkeys import CONFIG, URLS
from node.core.auth import require_admin
from node.core.errors import ApiError
from node.core.serving import read_json_object
from outbox import service

C2S_CONTENT_TYPES = ("application/activity+json", "application/ld+json")


async def post_outbox(request: web.Request) -> web.Response:
    require_admin(request)
    config, urls = request.app[CONFIG], request.app[URLS]
    username = request.match_info["username"]
    if username != config.node.name:
        raise ApiError(
            404, f"no actor named {username} publishes here", hint=f"post to {urls.outbox(config.node.name)}"
        )
    _, body = await read_json_object(request, accepted_types=C2S_CONTENT_TYPES)
    published = await service.submit(request.app, username, body)
    return web.json_response(published.as_json(), status=201, headers={"Location": published.activity["id"]})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/users/{username}/outbox", post_outbox)
