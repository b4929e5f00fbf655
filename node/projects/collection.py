"""The projects as ActivityPub collections: the node's ``projects``, and each project's ``drafts``.

- ``GET /users/{name}/projects`` (``name`` the node's Group actor, whose document names it as
  ``projects``: :func:`actor_part`, a ``registry.actor_additions`` hook): a public
  ``OrderedCollection`` of this node's projects that were published (open, voting, decided),
  newest first, paged as every collection is (:func:`node.core.serving.collection_document`).
  Its items are the projects' ``Article`` s, embedded as published (``defaultOption`` and
  ``drafts`` in them: the collection's ``@context`` defines the terms). A member of the subtree
  starts a project by a ``Create`` whose ``target`` is this collection (``node.projects.authoring``).
- ``GET /objects/{uuid}/drafts``: a published project's drafts, oldest first, their ``Article`` s
  embedded; the project's Article names it (``drafts``).

Projects awaiting the admin's approval, or refused, were never published: they are in neither
(a 404 for such a project's drafts). With ``authorized_fetch`` both need a signed GET, as every
collection does.
"""

from __future__ import annotations

from aiohttp import web

from node.core import objects, vocabulary
from node.core.appkeys import CONFIG, DATABASE, URLS
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.serving import (
    PAGE_SIZE,
    ap_response,
    collection_document,
    page_number,
    require_signed_if_authorized_fetch,
)
from node.projects import documents, store

LISTED = ("open", "voting", "decided")  # the states of a published project


def projects_url(app: web.Application) -> str:
    return app[URLS].collection(app[CONFIG].node.name, "projects")


async def actor_part(app: web.Application) -> dict:
    """What the node's actor document says of its projects: where the collection is."""
    return {"projects": projects_url(app)}


async def _documents(reader: Connection, ids: list[str]) -> list:
    """Each object as published, embedded (its id alone when it is not kept here)."""
    found: list = []
    for object_id in ids:
        stored = await objects.get(reader, object_id)
        if stored is None or stored.deleted is not None:
            found.append(object_id)
        else:
            found.append(vocabulary.embedded(stored.data))
    return found


def _served(request: web.Request, collection_id: str, total: int, page: int | None, items: list) -> web.Response:
    document = collection_document(collection_id, total, page, items)
    document["@context"] = vocabulary.context()
    return ap_response(request, document)


async def projects_collection(request: web.Request) -> web.Response:
    if request.match_info["username"] != request.app[CONFIG].node.name:
        raise ApiError(404, N_("there is no such project here"), hint=N_("see the list at /projects"))
    await require_signed_if_authorized_fetch(request)
    reader, page = request.app[DATABASE].reader, page_number(request)
    total = await store.count_in_states(reader, LISTED)
    items = []
    if page is not None:
        listed = await store.projects_in_states(reader, LISTED, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        items = await _documents(reader, [project.id for project in listed])
    return _served(request, projects_url(request.app), total, page, items)


async def drafts_collection(request: web.Request) -> web.Response:
    await require_signed_if_authorized_fetch(request)
    reader, page = request.app[DATABASE].reader, page_number(request)
    project = await store.get_project(reader, f"{request.app[URLS].base}/objects/{request.match_info['uuid']}")
    if project is None or project.state not in LISTED:
        raise ApiError(404, N_("there is no such project here"), hint=N_("see the list at /projects"))
    drafts = await store.drafts_of(reader, project.id)
    items = []
    if page is not None:
        shown = drafts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        items = await _documents(reader, [draft.id for draft in shown])
    return _served(request, documents.drafts_of(project.id), len(drafts), page, items)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/users/{username}/projects", projects_collection)
    app.router.add_get("/objects/{uuid}/drafts", drafts_collection)
