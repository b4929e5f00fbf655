"""The projects' pages: anyone reads the public ones; active members of this node, signed in, act.

Reading:
  ``GET /projects``                   open, voting and decided projects (awaiting ones only to the admin)
  ``GET /projects/{uuid}``            title, aim, default, state, who started it, its members, its drafts
                                      with their signatories against the quorum, and its thread (the
                                      replies to its Article, answered with ``POST /objects/{uuid}/reply``
                                      of :mod:`node.content.participation`); ``project_vote.html`` of the
                                      voting room is included where the vote shows, if it exists
  ``GET /drafts/{uuid}``              the newest text, every revision, the signatories, the comments
  ``GET /drafts/{uuid}/revisions/{n}`` one revision; ``GET /drafts/{uuid}/diff?from=1&to=3`` two compared
                                      (:mod:`node.projects.diff`)
Acting (forms with the CSRF token; :mod:`node.projects.actions` checks and publishes; a refusal
comes back on the same form with what was typed):
  ``/projects/new``, ``/projects/{uuid}/drafts/new``, ``/drafts/{uuid}/edit`` (GET the form, POST it),
  ``POST /projects/{uuid}/join|leave``, ``POST /drafts/{uuid}/sign|withdraw``, and the admin's
  ``POST /projects/{uuid}/approve|refuse``.

A project's or a draft's Article opens its page: ``registry.object_page_context`` gets a hook that
sends the browser from the generic object page to it (the Article's ``url`` names the page, see
:func:`node.projects.documents.page_of_document`); other Articles keep the generic page. The home
page lists open projects (``registry.home_parts``), the dashboard the projects awaiting approval
(``registry.admin_sections``). People are shown by name, never by actor URL.
"""

from __future__ import annotations

from aiohttp import web
from markupsafe import Markup

from federation import jsonio
from node.content import forms, interactions, listing
from node.content.participation import profile_path
from node.core import objects
from node.core.appkeys import CONFIG, DATABASE, REMOTE_ACTORS, URLS
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Part, Registry
from node.core.rendering import render
from node.membership.accounts import username_of_actor
from node.membership.pages import remote_person
from node.membership.sessions import active_member_actor, check_csrf, require_viewer, viewer
from node.projects import above_pages, actions, diff, documents, rules, store, voting

PROJECT_STATES = {
    "awaiting": N_("awaiting the admin's approval"),
    "open": N_("open: drafts are written, revised and signed"),
    "voting": N_("its drafts are being voted on"),
    "decided": N_("decided"),
    "refused": N_("not approved"),
}
DRAFT_STATES = {
    "open": N_("open"),
    "voting": N_("put to the vote"),
    "adopted": N_("adopted"),
    "not_adopted": N_("not adopted"),
    "not_put": N_("not put to the vote"),
}
LISTED = ("open", "voting", "decided")


# --- who is looking, and what they look at


def _object_id(request: web.Request) -> str:
    return f"{request.app[URLS].base}/objects/{request.match_info['uuid']}"


async def _is_admin(request: web.Request) -> bool:
    found = await viewer(request)
    return found is not None and found.is_admin


async def _project(request: web.Request, project_id: str | None = None) -> store.Project:
    """The project, if this viewer may see it (an awaiting or refused one: its starter and the admin)."""
    project = await store.get_project(request.app[DATABASE].reader, project_id or _object_id(request))
    starter = project.started_by if project is not None and project.state in ("awaiting", "refused") else None
    if starter is not None and not await _is_admin(request) and await active_member_actor(request) != starter:
        project = None
    if project is None:
        raise ApiError(404, N_("there is no such project here"), hint=N_("see the list at /projects"))
    return project


async def _draft(request: web.Request) -> tuple[store.Project, store.Draft]:
    draft = await store.get_draft(request.app[DATABASE].reader, _object_id(request))
    if draft is None:
        raise ApiError(404, N_("there is no such draft here"), hint=N_("see the list at /projects"))
    return await _project(request, draft.project_id), draft


async def _member(request: web.Request, form=None) -> str:
    """The signed-in active member's actor id (a visitor is sent to sign in; a form's CSRF token is checked)."""
    found = await require_viewer(request)
    if form is not None:
        check_csrf(found, form)
    member = await active_member_actor(request)
    if member is None:
        raise ApiError(
            403, N_("only active members of the chapter do this here"), hint=N_("sign in with your member account")
        )
    return member


async def names_of(request: web.Request, actor_ids) -> dict[str, dict]:
    """Each actor's name and page: a local account's display name, a remote one's cached name or handle."""
    ids = {a for a in actor_ids if isinstance(a, str)}
    local = await listing.author_names(request, ids)
    found = {}
    for actor_id in ids:
        if username_of_actor(request.app[URLS], actor_id):
            found[actor_id] = {"name": local.get(actor_id, actor_id), "page": profile_path(request, actor_id)}
            continue
        cached = await request.app[REMOTE_ACTORS].store.select_actor(request.app[DATABASE].reader, actor_id)
        name, handle = remote_person(actor_id, jsonio.loads(cached["data"]) if cached is not None else None)
        found[actor_id] = {"name": name, "handle": handle, "page": None}
    return found


def _built(markup: str) -> Markup:
    """HTML this room built from escaped text (:func:`node.content.forms.paragraphs`, :mod:`node.projects.diff`)."""
    return Markup(markup)  # noqa: S704 (every piece of text in it was escaped where it was built)


def _paragraphs(text: str) -> Markup:
    return _built(forms.paragraphs(text))


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


async def _thread(request: web.Request, object_id: str) -> dict:
    """A project's thread or a draft's comments: the replies, their authors' names, the reply form."""
    thread = await interactions.page_thread(request.app[DATABASE].reader, object_id, limit=200)
    return {
        "object_id": object_id,
        "thread": thread,
        "reply_authors": await names_of(request, {r.get("attributedTo") for r in thread}),
        "can_reply": await active_member_actor(request) is not None,
    }


# --- lists


async def summary(request: web.Request, project: store.Project) -> dict:
    drafts = await store.drafts_of(request.app[DATABASE].reader, project.id)
    return {
        "title": project.title,
        "href": documents.project_page(project.id),
        "state": project.state,
        "state_words": PROJECT_STATES[project.state],
        "started_at": project.started_at,
        "drafts": len(drafts),
    }


async def projects_index(request: web.Request) -> web.Response:
    reader = request.app[DATABASE].reader
    states = ("awaiting", *LISTED) if await _is_admin(request) else LISTED
    listed = [await summary(request, p) for p in await store.projects_in_states(reader, states)]
    return await render(
        request,
        "project_list.html",
        {
            "projects": listed,
            "can_start": await active_member_actor(request) is not None,
            **await above_pages.list_context(request),
        },
    )


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    reader = request.app[DATABASE].reader
    open_ones = await store.projects_in_states(reader, ("open",), limit=5)
    shown.update(p.id for p in open_ones)
    if not open_ones:
        return []
    return [Part(47, "project_home.html", {"projects": [await summary(request, p) for p in open_ones]})]


async def admin_sections(request: web.Request) -> list[Part]:
    waiting = await store.projects_in_states(request.app[DATABASE].reader, ("awaiting",))
    if not waiting:
        return []
    starters = await names_of(request, {p.started_by for p in waiting})
    listed = [{**await summary(request, p), "id": p.id, "starter": starters[p.started_by]} for p in waiting]
    return [Part(12, "project_admin.html", {"projects": listed})]


async def open_own_page(request: web.Request, stored: objects.StoredObject) -> dict:
    """The generic object page of a project's or a draft's Article sends the browser to its own page."""
    page = documents.page_of_document(stored.id, stored.data)
    if page is not None and stored.type == "Article" and stored.author == request.app[CONFIG].node.name:
        raise web.HTTPFound(page)
    return {}


# --- a project's page


async def _draft_lines(request: web.Request, project: store.Project) -> list[dict]:
    reader = request.app[DATABASE].reader
    return [
        {
            "title": d.title,
            "href": documents.draft_page(d.id),
            "revision": d.revision,
            "signatories": await store.count_signatories(reader, d.id),
            "qualified": d.qualified_at is not None,
            "state_words": DRAFT_STATES[d.state],
        }
        for d in await store.drafts_of(reader, project.id)
    ]


async def project_page(request: web.Request) -> web.Response:
    project = await _project(request)
    reader, member = request.app[DATABASE].reader, await active_member_actor(request)
    joined = await store.members_of(reader, project.id)
    names = await names_of(request, {project.started_by} | {actor for actor, _ in joined})
    context = {
        "project": project,
        "page": documents.project_page(project.id),
        "state_words": PROJECT_STATES[project.state],
        "starter": names[project.started_by],
        "members": [names[actor] for actor, _ in joined],
        "drafts": await _draft_lines(request, project),
        "quorum": await rules.quorum(reader, request.app[CONFIG]),
        "is_member": member is not None and member in {actor for actor, _ in joined},
        "can_act": member is not None and project.state == "open",
        "is_admin": await _is_admin(request),
        "aim_html": _paragraphs(project.aim),
        "default_html": _paragraphs(project.default_option),
        **await _thread(request, project.id),
    }
    return await render(request, "project.html", context)


# --- starting a project, taking part, the admin's approval


async def new_project_form(request: web.Request) -> web.Response:
    await _member(request)
    return await render(request, "project_new.html", {"values": {}, "error": None})


async def new_project(request: web.Request) -> web.Response:
    form = await request.post()
    member = await _member(request, form)
    values = {name: _text(form, name) for name in ("title", "aim", "default")}
    try:
        project_id = await actions.start(request.app, member, **values)
    except ApiError as error:
        context = {"values": values, "error": error.error}
        return await render(request, "project_new.html", context, status=error.status)
    raise web.HTTPSeeOther(documents.project_page(project_id))


async def take_part(request: web.Request) -> web.Response:
    """``POST /projects/{uuid}/join`` and ``.../leave``."""
    form = await request.post()
    member = await _member(request, form)
    project = await _project(request)
    if request.match_info["act"] == "join":
        await actions.join(request.app, project, member)
    else:
        await actions.leave(request.app, project, member)
    raise web.HTTPSeeOther(documents.project_page(project.id))


async def judge(request: web.Request) -> web.Response:
    """The admin's ``POST /projects/{uuid}/approve`` and ``.../refuse`` (with an optional reason)."""
    found = await require_viewer(request)
    form = await request.post()
    check_csrf(found, form)
    if not found.is_admin:
        raise ApiError(
            403, N_("this page is for the chapter's admin"), hint=N_("sign in with the admin token at /login/admin")
        )
    project = await _project(request)
    if request.match_info["act"] == "approve":
        await actions.approve(request.app, project)
    else:
        await actions.refuse(request.app, project, _text(form, "reason"))
    raise web.HTTPSeeOther(documents.project_page(project.id))


# --- drafts: writing, revising, reading, comparing, signing


async def _draft_form(request: web.Request, context: dict, *, status: int = 200) -> web.Response:
    return await render(request, "project_draft_form.html", {"error": None, **context}, status=status)


async def new_draft_form(request: web.Request) -> web.Response:
    await _member(request)
    project = await _project(request)
    action = f"{documents.project_page(project.id)}/drafts/new"
    return await _draft_form(request, {"project": project, "values": {}, "action": action})


async def new_draft(request: web.Request) -> web.Response:
    form = await request.post()
    member = await _member(request, form)
    project = await _project(request)
    values = {name: _text(form, name) for name in ("title", "text")}
    try:
        draft_id = await actions.add_draft(request.app, project, member, **values)
    except ApiError as error:
        action = f"{documents.project_page(project.id)}/drafts/new"
        context = {"project": project, "values": values, "action": action, "error": error.error}
        return await _draft_form(request, context, status=error.status)
    raise web.HTTPSeeOther(documents.draft_page(draft_id))


async def edit_draft_form(request: web.Request) -> web.Response:
    await _member(request)
    project, draft = await _draft(request)
    values = {"title": draft.title, "text": draft.text}
    action = f"{documents.draft_page(draft.id)}/edit"
    return await _draft_form(request, {"project": project, "draft": draft, "values": values, "action": action})


async def edit_draft(request: web.Request) -> web.Response:
    form = await request.post()
    member = await _member(request, form)
    project, draft = await _draft(request)
    values = {name: _text(form, name) for name in ("title", "text")}
    try:
        await actions.revise(request.app, project, draft, member, **values)
    except ApiError as error:
        action = f"{documents.draft_page(draft.id)}/edit"
        context = {"project": project, "draft": draft, "values": values, "action": action, "error": error.error}
        return await _draft_form(request, context, status=error.status)
    raise web.HTTPSeeOther(documents.draft_page(draft.id))


async def signing(request: web.Request) -> web.Response:
    """``POST /drafts/{uuid}/sign`` and ``.../withdraw``: the signed-in member's own signature."""
    form = await request.post()
    member = await _member(request, form)
    project, draft = await _draft(request)
    if request.match_info["act"] == "sign":
        await actions.sign(request.app, project, draft, member)
        await voting.after_signature(request.app, project.id, draft.id)  # the quorum reached: told, or put to the vote
    else:
        await actions.withdraw(request.app, project, draft, member)
    raise web.HTTPSeeOther(documents.draft_page(draft.id))


async def draft_page(request: web.Request) -> web.Response:
    project, draft = await _draft(request)
    reader, member = request.app[DATABASE].reader, await active_member_actor(request)
    revisions = await store.revisions_of(reader, draft.id)
    signed = await store.signatories(reader, draft.id)
    names = await names_of(request, {r.author for r in revisions} | {s.actor for s in signed})
    page = documents.draft_page(draft.id)
    open_here = project.state == "open" and draft.state == "open"
    context = {
        "project": project,
        "project_page": documents.project_page(project.id),
        "draft": draft,
        "page": page,
        "state_words": DRAFT_STATES[draft.state],
        "text_html": _paragraphs(draft.text),
        "revisions": [
            {"number": r.number, "title": r.title, "author": names[r.author], "at": r.created_at} for r in revisions
        ],
        "signatories": [names[s.actor] for s in signed],
        "quorum": await rules.quorum(reader, request.app[CONFIG]),
        "can_sign": member is not None and open_here,
        "signed": member is not None and member in {s.actor for s in signed},
        "can_edit": member is not None and open_here and await store.is_member(reader, project.id, member),
        **await _thread(request, draft.id),
    }
    return await render(request, "project_draft.html", context)


async def _revision(request: web.Request, draft: store.Draft, raw: str | None) -> store.Revision:
    number = int(raw) if raw is not None and raw.isdigit() and len(raw) < 9 else 0
    found = await store.revision(request.app[DATABASE].reader, draft.id, number)
    if found is None:
        raise ApiError(404, N_("this draft has no revision {n}", n=raw or ""), hint=N_("see the draft's revisions"))
    return found


async def revision_page(request: web.Request) -> web.Response:
    project, draft = await _draft(request)
    shown = await _revision(request, draft, request.match_info["number"])
    author = (await names_of(request, {shown.author}))[shown.author]
    context = {
        "project": project,
        "draft": draft,
        "page": documents.draft_page(draft.id),
        "revision": shown,
        "author": author,
        "text_html": _paragraphs(shown.text),
    }
    return await render(request, "project_revision.html", context)


async def diff_page(request: web.Request) -> web.Response:
    project, draft = await _draft(request)
    old = await _revision(request, draft, request.query.get("from"))
    new = await _revision(request, draft, request.query.get("to"))
    names = await names_of(request, {old.author, new.author})
    context = {
        "project": project,
        "draft": draft,
        "page": documents.draft_page(draft.id),
        "old": old,
        "new": new,
        "old_author": names[old.author],
        "new_author": names[new.author],
        "title_diff": _built(diff.html_diff(old.title, new.title)),
        "text_diff": _built(diff.html_diff(old.text, new.text)),
        "numbers": range(1, draft.revision + 1),
    }
    return await render(request, "project_diff.html", context)


# --- the room's parts and routes


def register(registry: Registry) -> None:
    registry.nav_links.append((57, "/projects", N_("Projects")))
    registry.home_parts.append(home_parts)
    registry.admin_sections.append(admin_sections)
    registry.object_page_context.append(open_own_page)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/projects", projects_index)
    app.router.add_get("/projects/new", new_project_form)
    app.router.add_post("/projects/new", new_project)
    app.router.add_get("/projects/{uuid}", project_page)
    app.router.add_post("/projects/{uuid}/{act:join|leave}", take_part)
    app.router.add_post("/projects/{uuid}/{act:approve|refuse}", judge)
    app.router.add_get("/projects/{uuid}/drafts/new", new_draft_form)
    app.router.add_post("/projects/{uuid}/drafts/new", new_draft)
    app.router.add_get("/drafts/{uuid}", draft_page)
    app.router.add_get("/drafts/{uuid}/edit", edit_draft_form)
    app.router.add_post("/drafts/{uuid}/edit", edit_draft)
    app.router.add_post("/drafts/{uuid}/{act:sign|withdraw}", signing)
    app.router.add_get("/drafts/{uuid}/revisions/{number}", revision_page)
    app.router.add_get("/drafts/{uuid}/diff", diff_page)
