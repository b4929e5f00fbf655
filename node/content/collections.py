"""``/objects/{uuid}/replies``, ``/likes`` and ``/shares``: the collections of a local object.

``replies`` is an ``OrderedCollection`` of the thread (public and unlisted replies, oldest
first, paged like every collection); ``likes`` and ``shares`` give ``totalItems`` only, as
Mastodon does (who liked is not published). They are served for public and unlisted objects;
a deleted object's collections answer 410.
"""

from __future__ import annotations

from aiohttp import web

from node.content import interactions
from node.core import objects
from node.core.appkeys import DATABASE, URLS
from node.core.errors import ApiError
from node.core.serving import (
    PAGE_SIZE,
    ap_response,
    collection_document,
    page_number,
    require_signed_if_authorized_fetch,
)


async def _visible_object(request: web.Request) -> objects.StoredObject:
    await require_signed_if_authorized_fetch(request)
    object_id = f"{request.app[URLS].base}/objects/{request.match_info['uuid']}"
    stored = await objects.get(request.app[DATABASE].reader, object_id)
    if stored is None or stored.kind != "object" or stored.visibility not in ("public", "unlisted"):
        raise ApiError(
            404, f"no public object {object_id} here", hint="collections are served for public and unlisted objects"
        )
    if stored.deleted is not None:
        raise ApiError(410, f"{object_id} was deleted")
    return stored


async def replies_collection(request: web.Request) -> web.Response:
    stored = await _visible_object(request)
    db = request.app[DATABASE]
    page = page_number(request)
    total = (await interactions.counts(db.reader, stored.id)).replies
    items = (
        []
        if page is None
        else await interactions.page_thread(db.reader, stored.id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    )
    return ap_response(request, collection_document(f"{stored.id}/replies", total, page, items))


def _reactions_collection(name: str, count_of):
    async def view(request: web.Request) -> web.Response:
        stored = await _visible_object(request)
        totals = await interactions.counts(request.app[DATABASE].reader, stored.id)
        return ap_response(
            request,
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{stored.id}/{name}",
                "type": "Collection",
                "totalItems": count_of(totals),
            },
        )

    return view


def add_routes(app: web.Application) -> None:
    app.router.add_get("/objects/{uuid}/replies", replies_collection)
    app.router.add_get("/objects/{uuid}/likes", _reactions_collection("likes", lambda totals: totals.likes))
    app.router.add_get("/objects/{uuid}/shares", _reactions_collection("shares", lambda totals: totals.shares))
