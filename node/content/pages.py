"""The content on the node's pages: minutes, events, threads and counts, and the profile's lists.

- An object's page gets its thread (public and unlisted replies, oldest first) and its like and
  boost counts; minutes are shown from their stored structure (date, place, attendees, agenda,
  decisions with links to their votes, then the free notes); an Event shows when and where,
  the members' answers (going, maybe, not going) and, to a signed-in active member, a form to
  answer. Which template shows the object is chosen by its kind, in :data:`POST_TEMPLATES`.
- ``POST /objects/{uuid}/answer`` (CSRF-checked): a signed-in local member's answer to an
  Event, recorded by the same :func:`node.content.events.record_answer` as a remote member's
  ``Accept`` / ``Reject`` / ``TentativeAccept``.
- The home page's sections of content come from :mod:`node.content.listing`; the archive pages
  and the Atom feed from :mod:`node.content.archive`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from node.content import events, interactions, listing, minutes, participation
from node.content.views import CONTENT_TYPES
from node.core import objects
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.clock import iso, to_epoch
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Registry
from node.membership.sessions import active_member_actor, check_csrf, require_viewer

ANSWER_LABELS = {"going": N_("Going"), "maybe": N_("Maybe"), "not_going": N_("Not going")}


async def _minutes_context(request: web.Request, stored: objects.StoredObject) -> dict:
    found = await minutes.get(request.app[DATABASE].reader, stored.id)
    if found is None or found.article_id != stored.id:
        return {}  # the announcement Note is shown as the Note it is
    return {"post_template": "minutes.html", "minutes": found.record, "where": events.place_text(found.record.location)}


def is_over(request: web.Request, event: dict) -> bool:
    """An event whose end (or start, without an end) has passed: no more answers to "who is coming"."""
    ends = event.get("endTime") or event.get("startTime")
    return isinstance(ends, str) and ends < iso(request.app[CLOCK].now())


async def _event_context(request: web.Request, stored: objects.StoredObject) -> dict:
    db, chapter = request.app[DATABASE], request.app[CONFIG].node.name
    over = is_over(request, stored.data)
    member = None if over else await active_member_actor(request)
    return {
        "event_over": over,
        "post_template": "event.html",
        "answer_labels": ANSWER_LABELS,
        "where": events.place_text(stored.data.get("location")),
        "event_counts": await events.count_answers(db.reader, chapter, stored.id),
        "answering_member": member,
        "my_answer": await events.answer_of(db.reader, stored.id, member) if member else None,
    }


# How an object's page shows it, by its kind (``postKind``, else its type): extra template context.
POST_TEMPLATES: dict[str, Callable[[web.Request, objects.StoredObject], Awaitable[dict]]] = {
    minutes.POST_KIND: _minutes_context,
    "Event": _event_context,
}


async def object_page_context(request: web.Request, stored: objects.StoredObject) -> dict:
    if stored.type not in CONTENT_TYPES:
        return {}
    post_kind = stored.data.get("postKind")
    kind = post_kind if isinstance(post_kind, str) else stored.type
    specific = POST_TEMPLATES.get(kind) or POST_TEMPLATES.get(stored.type)
    context = await specific(request, stored) if specific else {}
    reader = request.app[DATABASE].reader
    return {
        **context,
        **await participation.page_context(request, stored),
        "page_parts": ["thread.html"],
        "counts": await interactions.counts(reader, stored.id),
        "thread": await interactions.page_thread(reader, stored.id, limit=200),
    }


async def answer_event(request: web.Request) -> web.Response:
    found = await require_viewer(request)
    form = await request.post()
    check_csrf(found, form)
    answer = form.get("answer")
    if answer not in events.ANSWERS:
        raise ApiError(400, N_("answer must be one of {answers}", answers=", ".join(events.ANSWERS)))
    urls, db = request.app[URLS], request.app[DATABASE]
    event_id = f"{urls.base}/objects/{request.match_info['uuid']}"
    stored = await objects.get(db.reader, event_id)
    if stored is None or stored.type not in ("Event", "Tombstone") or stored.kind != "object":
        raise ApiError(404, N_("no event {id} here", id=event_id))
    if stored.deleted is not None:
        raise ApiError(410, N_("the event {id} was deleted", id=event_id))
    if is_over(request, stored.data):
        raise ApiError(409, N_("this event is over: it takes no more answers"), hint=N_("see the upcoming events"))
    member = await active_member_actor(request)
    if member is None:
        raise ApiError(
            403,
            N_("only active members of the chapter answer here"),
            hint=N_("members on other servers answer with Accept or Reject of the Event"),
        )
    async with db.transaction() as conn:
        await events.record_answer(
            conn,
            event_id=event_id,
            actor_id=member,
            answer=answer,
            activity_id=None,
            now=to_epoch(request.app[CLOCK].now()),
        )
    raise web.HTTPSeeOther(event_id)


def register(registry: Registry) -> None:
    """The content's parts of an object's page, of the home page, and the site's navigation."""
    registry.object_page_context.append(object_page_context)
    registry.home_parts.append(listing.home_parts)
    registry.account_parts.append(participation.account_parts)
    registry.compose_links.extend(
        [
            (10, "/write/news", N_("News")),
            (20, "/write/blog", N_("A blog post")),
            (30, "/write/minutes", N_("Minutes")),
            (40, "/write/event", N_("An event")),
        ]
    )
    registry.nav_links.extend(
        [
            (10, "/news", N_("News")),
            (20, "/blog", N_("Blogs")),
            (30, "/minutes", N_("Minutes")),
            (40, "/events", N_("Events")),
        ]
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/objects/{uuid}/answer", answer_event)
