"""The pages from which this node's members take part in the projects of the levels above.

On a node with a parent (a chapter, a region), ``/projects`` also lists the projects of each level
above (:func:`list_context`, which ``node.projects.pages`` adds to its list; read by
:mod:`node.projects.above`), each with its title, aim, level and a link to its page there, and a
level that cannot be reached now says so. Signed-in active members of this node also get:

  ``GET|POST /projects/above/new``    "Start a project at <level>": title, aim, default, the level
  ``GET /projects/above?id=<id>``     one project above: title, aim, default, drafts, thread, and
                                      what this member sent about it, with the answers
  ``POST /projects/above/act``        take part / leave (the project), sign / withdraw (a draft)
  ``GET|POST /projects/above/write``  a new draft (``?project=``), or a revision (``&draft=``,
                                      the form filled with the draft's current title and text)
  ``POST /projects/above/reply``      a reply in the project's thread

Every form carries the CSRF token; a refusal comes back on the same form with what was typed.
What a form does goes out as the member's ``Person`` (:mod:`node.projects.acting`) and is kept
(:mod:`node.projects.above_acts`), so the pages show what was sent, when, and what the project's node
answered ("accepted", or "refused: <its reason>"), or that no answer came yet. Whether the
member takes part in a project, or has signed a draft, is read from what they sent and how it
was answered: the project's node does not tell other nodes who its members are. People are
shown by name, never by actor URL.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from federation import jsonio
from federation.activitystreams import id_of
from federation.client import FetchError
from node.branches import names
from node.content import forms, listing
from node.core.appkeys import CLOCK, DATABASE, REMOTE_ACTORS, URLS
from node.core.clock import to_epoch
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.rendering import render
from node.membership.accounts import username_of_actor
from node.membership.pages import remote_person
from node.membership.sessions import active_member_actor, check_csrf, require_viewer
from node.projects import above, above_acts, acting

KIND_WORDS = {
    "start": N_("start a project"),
    "draft": N_("a new draft"),
    "revise": N_("a revision"),
    "join": N_("take part"),
    "leave": N_("leave the project"),
    "sign": N_("sign a draft"),
    "withdraw": N_("withdraw a signature"),
    "reply": N_("a reply in the thread"),
}
PAGE = "/projects/above"


def page_of(project_id: str) -> str:
    return f"{PAGE}?id={quote(project_id, safe='')}"


def _now(request: web.Request) -> float:
    return to_epoch(request.app[CLOCK].now())


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


async def _member(request: web.Request, form=None) -> acting.Member:
    """The signed-in active member (a visitor is sent to sign in; a form's CSRF token is checked)."""
    found = await require_viewer(request)
    if form is not None:
        check_csrf(found, form)
    actor_id = await active_member_actor(request)
    if actor_id is None or found.username is None:
        raise ApiError(
            403, N_("only active members of the chapter do this here"), hint=N_("sign in with your member account")
        )
    return acting.Member(found.username, actor_id)


async def _people(request: web.Request, actor_ids) -> dict[str, str]:
    """Each actor's name: a local account's display name, a remote one's cached name or handle."""
    ids = {a for a in actor_ids if isinstance(a, str)}
    local = await listing.author_names(request, {a for a in ids if username_of_actor(request.app[URLS], a)})
    found = dict(local)
    for actor_id in ids - local.keys():
        cached = await request.app[REMOTE_ACTORS].store.select_actor(request.app[DATABASE].reader, actor_id)
        found[actor_id] = remote_person(actor_id, jsonio.loads(cached["data"]) if cached is not None else None)[0]
    return found


def sent_line(act: above_acts.Act, level_names: dict[str, names.BranchName]) -> dict:
    """One act as the pages show it: what, about what, to whom, when, and the answer."""
    if act.answer == "accepted":
        state = N_("accepted")
    elif act.answer == "refused":
        state = N_("refused: {reason}", reason=act.reason) if act.reason else N_("refused")
    else:
        state = N_("sent, no answer yet")
    level = level_names.get(act.node)
    return {
        "kind": act.kind,
        "kind_words": KIND_WORDS[act.kind],
        "title": act.title,
        "level": level.name if level is not None else names.site_of(act.node),
        "sent_at": act.sent_at,
        "answer": act.answer or "none",
        "state_words": state,
        "href": page_of(act.result) if act.kind == "start" and act.result else None,
    }


WAIT_SECONDS = 600.0  # how long an unanswered act keeps its pages reading afresh


def waiting(sent: list[above_acts.Act], now: float) -> bool:
    """Whether an act was sent or answered lately, or waits for its answer: its pages read afresh."""
    return any(
        now - act.sent_at < above.CACHE_SECONDS
        or (act.answered_at is None and act.kind != "reply" and now - act.sent_at < WAIT_SECONDS)
        or (act.answered_at is not None and now - act.answered_at < above.CACHE_SECONDS)
        for act in sent
    )


async def _level_names(request: web.Request, node_ids) -> dict[str, names.BranchName]:
    return await names.names_of(request.app[DATABASE].reader, node_ids)


# --- the list: /projects gets the levels above


async def list_context(request: web.Request, *, values: dict | None = None, error=None) -> dict:
    """What ``/projects`` shows of the levels above: their projects, the start form, what was sent."""
    member = await active_member_actor(request)
    starts = await above_acts.starts_of(request.app[DATABASE].reader, member) if member is not None else []
    found = await above.levels(request.app, fresh=waiting(starts, _now(request)))
    if not found:
        return {"above": []}
    level_names = {level.branch.id: level.branch for level in found}
    return {
        "above": found,
        "above_page": page_of,
        "above_can_start": member is not None and any(level.projects is not None for level in found),
        "above_sent": [sent_line(act, level_names) for act in starts],
        "above_values": values or {},
        "above_error": error,
    }


async def start_form(request: web.Request) -> web.Response:
    await _member(request)
    return await render(request, "projects_above_new.html", await list_context(request))


async def start(request: web.Request) -> web.Response:
    form = await request.post()
    member = await _member(request, form)
    values = {name: _text(form, name) for name in ("level", "title", "aim", "default")}
    level = await above.level_of(request.app, values["level"]) if values["level"] else None
    collection = id_of(level.data.get("projects")) if level is not None and level.id == values["level"] else None
    try:
        if level is None or collection is None:
            raise ApiError(400, N_("choose one of the levels above"), hint=N_("see the list at /projects"))
        values_sent = {k: values[k] for k in ("title", "aim", "default")}
        await acting.start(request.app, member, node=level.id, collection=collection, **values_sent)
    except ApiError as error:
        context = await list_context(request, values=values, error=error.error)
        return await render(request, "projects_above_new.html", context, status=error.status)
    raise web.HTTPSeeOther("/projects#above-sent")


# --- one project above


def _standing(sent: list[above_acts.Act], object_id: str, on: str, off: str) -> bool:
    """Whether the newest of the member's ``on`` / ``off`` acts on ``object_id`` is an ``on`` not refused."""
    for act in sent:  # newest first
        if act.object == object_id and act.kind in (on, off):
            return act.kind == on and act.answer != "refused"
    return False


async def _project(request: web.Request, project_id: str, *, fresh: bool = False) -> above.Project | None:
    known = await above_acts.drafts_known(request.app[DATABASE].reader, project_id)
    try:
        found = await above.project(request.app, project_id, known, fresh=fresh)
    except FetchError:
        return None
    if found is None and await above.level_of(request.app, project_id) is None:
        raise ApiError(404, N_("there is no such project above this node"), hint=N_("see the list at /projects"))
    return found


async def _project_context(request: web.Request, project_id: str) -> dict:
    member = await active_member_actor(request)
    reader = request.app[DATABASE].reader
    sent = await above_acts.of_member(reader, member, project=project_id) if member is not None else []
    found = await _project(request, project_id, fresh=waiting(sent, _now(request)))
    drafts = [
        {
            "item": d,
            "signed": _standing(sent, d.id, "sign", "withdraw"),
            "write": f"{PAGE}/write?draft={quote(d.id, safe='')}",
        }
        for d in (found.drafts if found is not None else [])
    ]
    people = await _people(request, {r.author for r in found.thread} if found is not None else set())
    level_names = await _level_names(request, {act.node for act in sent})
    return {
        "project_id": project_id,
        "project": found,
        "drafts": drafts,
        "thread_authors": people,
        "can_act": member is not None and found is not None,
        "taking_part": _standing(sent, project_id, "join", "leave"),
        "show_default": found is not None and _default_apart(found.item),
        "sent": [sent_line(act, level_names) for act in sent],
        "write_href": f"{PAGE}/write?project={quote(project_id, safe='')}",
        "reply_text": "",
        "reply_error": None,
    }


def _default_apart(item: above.Item) -> bool:
    """Whether the default needs showing apart: given, and not already in the project's content."""
    return item.default is not None and item.default.strip() not in forms.plain(item.content)


async def project_page(request: web.Request) -> web.Response:
    project_id = request.query.get("id", "")
    if not project_id.startswith(("https://", "http://")):
        raise ApiError(404, N_("there is no such project above this node"), hint=N_("see the list at /projects"))
    return await render(request, "projects_above_project.html", await _project_context(request, project_id))


async def _acting_on(request: web.Request, form) -> tuple[acting.Member, above.Project]:
    member = await _member(request, form)
    found = await _project(request, _text(form, "project"))
    if found is None:
        raise ApiError(503, N_("the project's node could not be reached now"), hint=N_("try again in a minute"))
    return member, found


async def act(request: web.Request) -> web.Response:
    """Take part, leave, sign or withdraw: ``project``, ``act`` and for a draft ``draft``."""
    form = await request.post()
    member, found = await _acting_on(request, form)
    kind, draft_id = _text(form, "act"), _text(form, "draft")
    if kind in ("join", "leave"):
        object_id = found.item.id
    elif kind in ("sign", "withdraw") and draft_id in {d.id for d in found.drafts}:
        object_id = draft_id
    else:
        raise ApiError(400, N_("the form names no act this page knows"), hint=N_("see the project's page"))
    await acting.take_part(request.app, member, acting.Act(kind, found.level.id, found.item.id, object_id))
    raise web.HTTPSeeOther(page_of(found.item.id))


async def reply(request: web.Request) -> web.Response:
    form = await request.post()
    member, found = await _acting_on(request, form)
    text = _text(form, "content")
    try:
        await acting.reply(
            request.app, member, acting.Act("reply", found.level.id, found.item.id, found.item.id), text=text
        )
    except ApiError as error:
        context = {**await _project_context(request, found.item.id), "reply_text": text, "reply_error": error.error}
        return await render(request, "projects_above_project.html", context, status=error.status)
    raise web.HTTPSeeOther(page_of(found.item.id) + "#thread-heading")


# --- writing a draft, revising one


async def _write_target(
    request: web.Request, project_id: str, draft_id: str
) -> tuple[above.Project, above.Item | None]:
    found = await _project(request, project_id) if project_id else None
    if draft_id:
        try:
            the_draft = await above.draft(request.app, draft_id)
        except FetchError:
            the_draft = None
        if the_draft is not None and the_draft.parent is not None and found is None:
            found = await _project(request, the_draft.parent)
        if the_draft is None or found is None or the_draft.parent != found.item.id:
            raise ApiError(404, N_("there is no such draft above this node"), hint=N_("see the project's page"))
        return found, the_draft
    if found is None:
        raise ApiError(404, N_("there is no such project above this node"), hint=N_("see the list at /projects"))
    return found, None


async def write_form(request: web.Request) -> web.Response:
    await _member(request)
    found, the_draft = await _write_target(request, request.query.get("project", ""), request.query.get("draft", ""))
    values = {"title": the_draft.title, "text": forms.plain(the_draft.content)} if the_draft is not None else {}
    context = {"project": found, "draft": the_draft, "values": values, "error": None, "page": page_of(found.item.id)}
    return await render(request, "projects_above_write.html", context)


async def write(request: web.Request) -> web.Response:
    form = await request.post()
    member = await _member(request, form)
    found, the_draft = await _write_target(request, _text(form, "project"), _text(form, "draft"))
    values = {name: _text(form, name) for name in ("title", "text")}
    if the_draft is None:
        sending = acting.Act("draft", found.level.id, found.item.id, found.item.id)
    else:
        sending = acting.Act("revise", found.level.id, found.item.id, the_draft.id)
    try:
        await acting.write(request.app, member, sending, **values)
    except ApiError as error:
        context = {
            "project": found,
            "draft": the_draft,
            "values": values,
            "error": error.error,
            "page": page_of(found.item.id),
        }
        return await render(request, "projects_above_write.html", context, status=error.status)
    raise web.HTTPSeeOther(page_of(found.item.id) + "#sent-heading")


def setup(app: web.Application) -> None:
    """The routes, and the application's cache of the levels' documents (:class:`node.projects.above.Cache`)."""
    app[above.ABOVE_CACHE] = above.Cache()
    app.router.add_get(PAGE, project_page)
    app.router.add_get(f"{PAGE}/new", start_form)
    app.router.add_post(f"{PAGE}/new", start)
    app.router.add_post(f"{PAGE}/act", act)
    app.router.add_get(f"{PAGE}/write", write_form)
    app.router.add_post(f"{PAGE}/write", write)
    app.router.add_post(f"{PAGE}/reply", reply)
