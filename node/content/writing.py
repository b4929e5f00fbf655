"""Writing on the pages: secretaries and admins publish news, minutes and events; members write blog posts.

- ``/write``: what the signed-in person may publish (the registry's ``compose_links``: news,
  blog post, minutes, event here; poll and survey from the polls room). Members see the blog.
- ``/write/{kind}`` (news, blog, minutes, event): the form, and its POST, which publishes
  through :func:`outbox.service.submit` exactly as a client-to-server POST would (news,
  minutes and events as the chapter). A member's blog post is published under their own
  ``Person`` (``attributedTo`` them), then the chapter boosts it (``Announce``, id from
  :meth:`Urls.relayed_activity_id`) to its followers, so Mastodon shows it and FEP-1b12
  groups relay it.
- ``/objects/{uuid}/edit`` and ``/delete``: the author edits (``Update``) or deletes
  (``Delete``, 410 afterwards) what they wrote; secretaries and admins do so for the
  chapter's objects. Deleting a member's post also undoes the chapter's boost of it.

Forms carry the session's CSRF token; a form that cannot be used is shown again with the
reason (4xx), in the reader's language.
"""

from __future__ import annotations

from aiohttp import web

from node.content import forms, minutes
from node.core import objects
from node.core.appkeys import CLOCK, CONFIG, DATABASE, REGISTRY, URLS
from node.core.errors import ApiError
from node.core.i18n import N_, zone
from node.core.rendering import render
from node.core.vocabulary import activity, announce
from node.membership.members import PUBLISHER_ROLES
from node.membership.sessions import active_member_actor, check_csrf, require_viewer, viewer_role
from outbox import service
from outbox.compose import Composed, kind_of

TITLES = {
    "news": N_("Write news"),
    "blog": N_("Write a blog post"),
    "minutes": N_("Publish minutes"),
    "event": N_("Announce an event"),
}


async def writer(request: web.Request, kind: str) -> tuple[str, bool]:
    """(the username to publish as, whether the chapter boosts it), or 403 for who may not write ``kind``."""
    found = await require_viewer(request)
    role = await viewer_role(request)
    chapter = request.app[CONFIG].node.name
    if kind == "blog" and found.username and await active_member_actor(request):
        return found.username, True
    if role in PUBLISHER_ROLES:
        return chapter, False
    if kind == "blog":
        raise ApiError(403, N_("only members write blog posts here"), hint=N_("sign in with your member account"))
    raise ApiError(
        403, N_("only the chapter's secretaries and admins publish this"), hint=N_("ask the chapter's admin")
    )


async def write_index(request: web.Request) -> web.Response:
    await require_viewer(request)
    role = await viewer_role(request)
    links = sorted(request.app[REGISTRY].compose_links)
    if role not in PUBLISHER_ROLES:
        links = [link for link in links if link[1] == "/write/blog"]
    return await render(request, "write_index.html", {"links": links})


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in forms.KINDS:
        raise ApiError(404, N_("there is no form for {kind}", kind=kind))
    return kind


async def _form_page(
    request: web.Request, kind: str, values: dict, *, action: str, error=None, status: int = 200, editing: bool = False
) -> web.Response:
    return await render(
        request,
        "write.html",
        {"kind": kind, "title": TITLES[kind], "values": values, "action": action, "error": error, "editing": editing},
        status=status,
    )


async def write_form(request: web.Request) -> web.Response:
    kind = _kind(request)
    await writer(request, kind)
    return await _form_page(request, kind, {}, action=f"/write/{kind}")


async def _boost(request: web.Request, object_id: str, *, undo: bool = False) -> None:
    """The chapter's Announce of a member's post to its followers (or its Undo)."""
    app, urls, chapter = request.app, request.app[URLS], request.app[CONFIG].node.name
    now = app[CLOCK].now()
    boost = announce(
        urls,
        actor=urls.actor(chapter),
        object_id=object_id,
        followers=urls.followers(chapter),
        now=now,
        id=urls.relayed_activity_id("Announce", object_id),
    )
    if undo:
        embedded = {k: v for k, v in boost.items() if k != "@context"}
        boost = activity(
            "Undo", urls, actor=urls.actor(chapter), now=now, object=embedded, to=boost["to"], cc=boost["cc"]
        )
    await service.apply(app, chapter, Composed(activity=boost), now=now)


async def write(request: web.Request) -> web.Response:
    kind = _kind(request)
    username, boosted = await writer(request, kind)
    form = await request.post()
    check_csrf(await require_viewer(request), form)
    try:
        body = forms.body_of(kind, form, zone(request.app[CONFIG].node.timezone), request.app[URLS].base)
        published = await service.submit(request.app, username, body)
    except (forms.FormError, ApiError) as error:
        message = error.message if isinstance(error, forms.FormError) else error.error
        status = 400 if isinstance(error, forms.FormError) else error.status
        return await _form_page(request, kind, dict(form), action=f"/write/{kind}", error=message, status=status)
    object_id = published.created_id
    if boosted:
        await _boost(request, object_id)
    raise web.HTTPSeeOther(object_id)


# --- editing and deleting ------------------------------------------------------------------


def _content_kind(stored: objects.StoredObject) -> str:
    kind = kind_of(stored)
    return {"Event": "event", "Note": "news", "Article": "news"}.get(kind, kind)


async def editable(request: web.Request) -> tuple[objects.StoredObject, str]:
    """The stored object this page edits, and its kind; 403 unless the viewer may change it."""
    urls, reader = request.app[URLS], request.app[DATABASE].reader
    object_id = f"{urls.base}/objects/{request.match_info['uuid']}"
    stored = await objects.get(reader, object_id)
    if stored is None or stored.kind != "object" or stored.deleted is not None:
        raise ApiError(404, N_("nothing to edit at {id}", id=object_id))
    kind = _content_kind(stored)
    if kind not in forms.KINDS:
        raise ApiError(404, N_("this kind of object is not edited on the pages"))
    found = await require_viewer(request)
    own = found.username is not None and stored.author == found.username
    chapter_object = stored.author == request.app[CONFIG].node.name
    if not own and not (chapter_object and await viewer_role(request) in PUBLISHER_ROLES):
        raise ApiError(403, N_("only its author, or the chapter's secretaries and admins, change this"))
    return stored, kind


async def _minutes_record(request: web.Request, stored: objects.StoredObject):
    found = await minutes.get(request.app[DATABASE].reader, stored.id)
    return found.record if found is not None else None


async def edit_form(request: web.Request) -> web.Response:
    stored, kind = await editable(request)
    tz = zone(request.app[CONFIG].node.timezone)
    values = forms.values_of(kind, stored.data, await _minutes_record(request, stored), tz)
    return await _form_page(request, kind, values, action=f"{stored.id}/edit", editing=True)


async def edit(request: web.Request) -> web.Response:
    stored, kind = await editable(request)
    form = await request.post()
    check_csrf(await require_viewer(request), form)
    try:
        changes = forms.changes_of(kind, form, zone(request.app[CONFIG].node.timezone), request.app[URLS].base)
        await service.submit(request.app, stored.author, {"type": "Update", "object": {"id": stored.id, **changes}})
    except (forms.FormError, ApiError) as error:
        message = error.message if isinstance(error, forms.FormError) else error.error
        status = 400 if isinstance(error, forms.FormError) else error.status
        return await _form_page(
            request, kind, dict(form), action=f"{stored.id}/edit", error=message, status=status, editing=True
        )
    raise web.HTTPSeeOther(stored.id)


async def delete(request: web.Request) -> web.Response:
    stored, _kind_name = await editable(request)
    form = await request.post()
    check_csrf(await require_viewer(request), form)
    await service.submit(request.app, stored.author, {"type": "Delete", "object": stored.id})
    if stored.author != request.app[CONFIG].node.name:
        await _boost(request, stored.id, undo=True)
    raise web.HTTPSeeOther("/")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/write", write_index)
    app.router.add_get("/write/{kind}", write_form)
    app.router.add_post("/write/{kind}", write)
    app.router.add_get("/objects/{uuid}/edit", edit_form)
    app.router.add_post("/objects/{uuid}/edit", edit)
    app.router.add_post("/objects/{uuid}/delete", delete)
