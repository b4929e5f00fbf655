"""``POST /users/{name}/outbox``: the admin publishes as the chapter (ActivityPub section 6)."""

from __future__ import annotations

from aiohttp import web

from federation import jsonio
from node.appkeys import CONFIG, URLS
from node.auth import require_admin
from node.errors import ApiError
from outbox import service

C2S_CONTENT_TYPES = ("application/activity+json", "application/ld+json")


async def read_json_object(request: web.Request, *, accepted_types: tuple[str, ...]) -> tuple[bytes, dict]:
    """The request body as a JSON object; 415, 413 or 400 with the reason otherwise."""
    if request.content_type not in accepted_types:
        raise ApiError(415, f"content type {request.content_type or 'none'} is not accepted here",
                       hint=f"send {' or '.join(accepted_types)}")
    limit = request.app[CONFIG].federation.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"the body is {request.content_length} bytes; this node accepts at most {limit}")
    body = await request.read()  # the application's client_max_size caps a body without Content-Length
    try:
        document = jsonio.loads(body)
    except jsonio.JsonError as error:
        raise ApiError(400, str(error)) from None
    if not isinstance(document, dict):
        raise ApiError(400, "the body must be a JSON object (an activity)")
    return body, document


async def post_outbox(request: web.Request) -> web.Response:
    require_admin(request)
    config, urls = request.app[CONFIG], request.app[URLS]
    username = request.match_info["username"]
    if username != config.node.name:
        raise ApiError(404, f"no actor named {username} publishes here", hint=f"post to {urls.outbox(config.node.name)}")
    _, body = await read_json_object(request, accepted_types=C2S_CONTENT_TYPES)
    published = await service.submit(request.app, username, body)
    return web.json_response(published.as_json(), status=201, headers={"Location": published.activity["id"]})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/users/{username}/outbox", post_outbox)
