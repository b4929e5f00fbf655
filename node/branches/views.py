"""The tree's routes: the children collection, the subtree as JSON, and the admin's list.

- ``GET /users/{name}/children``: the linked children's actor ids, newest first, as an
  ``OrderedCollection`` with a true ``totalItems`` (paged like the followers).
- ``GET /users/{name}/tree``: :func:`node.branches.tree.subtree` as JSON, whatever the
  client asks (``/tree`` is the page, and this JSON too with ``Accept: application/json``).
- ``GET /admin/children`` (admin token): link requests and children by state (pending,
  linked, refused, unlinked), each with its Join's id, and this node's own parent (the
  current one, or the last asked or had, with its state and reason).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from federation import jsonio
from node.branches import link_store, paths, tree
from node.core.appkeys import CLOCK, CONFIG, DATABASE, KEYRING, URLS
from node.core.auth import require_admin
from node.core.errors import ApiError
from node.core.serving import (
    PAGE_SIZE,
    ap_response,
    collection_document,
    page_number,
    require_signed_if_authorized_fetch,
)


def _chapter(request: web.Request) -> str:
    name = request.app[CONFIG].node.name
    if request.match_info["username"] != name:
        raise ApiError(404, f"no chapter named {request.match_info['username']} here", hint=f"this node's is {name}")
    return name


async def children_collection(request: web.Request) -> web.Response:
    name = _chapter(request)
    await require_signed_if_authorized_fetch(request)
    reader, page = request.app[DATABASE].reader, page_number(request)
    total = await link_store.count_linked_children(reader)
    items = (
        []
        if page is None
        else await link_store.page_linked_children(reader, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    )
    return ap_response(request, collection_document(paths.children(request.app[URLS], name), total, page, items))


def wants_json(request: web.Request) -> bool:
    """A client asking for JSON (or an ActivityPub type) before HTML."""
    accept = request.headers.get("Accept", "").lower()
    html_at = accept.find("text/html")
    json_at = accept.find("json")
    return json_at >= 0 and (html_at < 0 or json_at < html_at)


async def subtree(request: web.Request, *, own: bool = False) -> web.Response:
    """The subtree as JSON, at ``<actor>/tree`` whatever is asked (``/tree`` is the page)."""
    if not own:
        _chapter(request)
    await require_signed_if_authorized_fetch(request)
    app = request.app
    document = await tree.subtree(app[DATABASE].reader, app[CONFIG], app[URLS], app[KEYRING], app[CLOCK].now())
    return web.Response(body=jsonio.dumps(document), content_type="application/json")


async def admin_children(request: web.Request) -> web.Response:
    require_admin(request)
    reader = request.app[DATABASE].reader
    listing: dict[str, Any] = {
        state: [link.as_json() for link in await link_store.children_in_state(reader, state)]
        for state in link_store.STATES
    }
    parent = await link_store.latest_parent(reader)
    listing["parent"] = parent.as_json() if parent is not None else None
    return web.json_response(listing)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/users/{username}/children", children_collection)
    app.router.add_get("/users/{username}/tree", subtree)
    app.router.add_get("/admin/children", admin_children)
