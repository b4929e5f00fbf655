"""A project's qualifying drafts put to the vote as one decision; what the pages show of it.

**Qualifying.** A draft qualifies the first time its standing signatories reach
:func:`node.projects.rules.quorum` (``store.mark_qualified`` sets ``qualified_at`` once). It then
stays qualified: a signature withdrawn later does not take it back off the ballot (the admin was
told, and the vote may have been called on it). The pages call :func:`after_signature` after a
signature they record, outside their transaction (it marks the draft qualified if they have not):
with ``[projects] put_to_vote = "auto"`` a qualifying draft puts its project to the vote at once.
The inbox, where nothing may publish, only marks the draft qualified; the ``project auto vote``
kind of due work (every minute, only with ``"auto"``) puts such projects to the vote, and any
that a restart left behind. With ``"admin"`` (the default) the dashboard's panel
(``project_vote_admin.html``) lists each open project with qualifying drafts and a "Put to the
vote" button (``POST /projects/{uuid}/vote``, admin only, with the CSRF token). The node has no
other way to tell its admin; the panel is it.
An automatic vote the decisions room refused (no linked branch yet) stays on the panel, with
the button, so the admin can call it once the tree is linked.

**Putting to the vote** (:func:`put_to_vote`): every open draft with ``qualified_at`` set becomes
one question of one ``Survey`` the node issues through :func:`outbox.service.compose` and
``apply``, as ``/decisions/new`` does (``node.decisions.composing``): the project's title as its
name, the aim and the default as its introduction, ``endTime`` ``[projects] vote_days`` ahead,
and a ``decision`` policy (``weightMode`` ballots, ``passThreshold`` 0.5, ``tallyDeadline``
``tally_days`` after the close). Each question asks, in the node's language, "«draft»: this
draft or the default?" with two options, "This draft" first and "The default" second, so
members vote from a Mastodon poll at their chapter. The body carries the ``project`` term
(:func:`node.projects.outcome.term_of`: the put drafts in the order of their questions), which the
decisions room's composer keeps and signs with the Survey, once
(:data:`node.decisions.proposal.SIGNED_TERMS`), so every level below can say what the outcome
means for the project. In the same transaction as the decision is
kept and offered down the tree: ``store.begin_vote`` (``open`` -> ``voting``; when another click or
process did it first, the whole transaction is rolled back with a 409, so there is never a
second decision), each put draft ``voting`` with its question's id, the others ``not_put``. From
then the drafts' texts are frozen (``rules`` refuses revisions and signatures). The decisions
room's refusal (no linked branches: 422) comes back as an ``ApiError``; on the dashboard it is
shown in the project's panel.

**The outcome** is :mod:`node.projects.outcome`'s. What a project's page shows of its vote is
``project_vote.html`` (the page includes it; see the template's top for what it expects);
decided projects with an adopted draft are linked from the home page ("Adopted proposals").
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from aiohttp import web

from node.core.appkeys import CLOCK, CONFIG, DATABASE, DUE_RUNNER, LANGUAGES, REGISTRY
from node.core.clock import iso, to_epoch
from node.core.due import DueKind
from node.core.errors import ApiError
from node.core.i18n import N_, Language, Message
from node.core.registry import Part, Registry
from node.core.rendering import render
from node.decisions import proposal
from node.membership.sessions import check_csrf, require_role
from node.projects import outcome, rules, store
from outbox import service

log = logging.getLogger("chapterhouse.projects")

FOR_DRAFT = N_("This draft")
FOR_DEFAULT = N_("The default")
THE_DEFAULT = N_("The default:")
EACH_QUESTION = N_("Each question asks: this draft, or the default?")
# the request's (project id, message, hint) when the dashboard is shown again with the button's refusal
REFUSAL_KEY: web.RequestKey[tuple] = web.RequestKey("projects_vote_refusal", tuple)
HOME_SHOWN = 10
QUESTION_DEFAULT_CHARS = 200
AUTO_EVERY = 60.0  # seconds between the automatic vote's looks (the signature's own call is at once)


def node_language(app: web.Application) -> Language:
    """The language the node publishes in (``[node] language``)."""
    languages = app[LANGUAGES]
    return languages.get(app[CONFIG].node.language) or languages.default


def _html(language: Language, message: Message) -> str:
    """``message`` in ``language``, its words and parameters escaped for HTML."""
    text = html.escape(language.translations.gettext(message.msgid), quote=False)
    return text.format(**{k: html.escape(str(v), quote=False) for k, v in message.params.items()})


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(p.strip(), quote=False)}</p>" for p in text.split("\n\n") if p.strip())


def _ask(draft: store.Draft, default: str) -> Message:
    return N_("«{draft}»: this draft or the default («{default}»)?", draft=draft.title, default=default)


def body_of(app: web.Application, project: store.Project, drafts: list[store.Draft], now: datetime) -> dict:
    """The C2S Survey of the vote: one "this draft or the default?" question per put draft, in the
    drafts' order, and the ``project`` term that names them in that order (signed with the Survey)."""
    language, settings = node_language(app), app[CONFIG].projects
    end = now + timedelta(days=settings.vote_days)
    intro = (
        _paragraphs(project.aim)
        + f"<p><strong>{_html(language, THE_DEFAULT)}</strong></p>"
        + _paragraphs(project.default_option)
        + f"<p>{_html(language, EACH_QUESTION)}</p>"
    )
    default = _short(project.default_option, QUESTION_DEFAULT_CHARS)
    choices = [language.gettext(FOR_DRAFT), language.gettext(FOR_DEFAULT)]
    questions = [
        {"type": "Question", "content": f"<p>{_html(language, _ask(d, default))}</p>", "oneOf": choices} for d in drafts
    ]
    return {
        "type": "Survey",
        "name": project.title,
        "content": intro,
        "endTime": iso(end),
        "orderedItems": questions,
        "project": outcome.term_of(project, drafts),
        "decision": {
            "weightMode": "ballots",
            "passThreshold": 0.5,
            "tallyDeadline": iso(end + timedelta(days=settings.tally_days)),
        },
    }


def _refusal(project: store.Project) -> Message | None:
    if project.state == "open":
        return None
    if project.state in ("voting", "decided"):
        return N_("this project was put to the vote already")
    return N_("this project is not open: it cannot go to the vote")


async def put_to_vote(app: web.Application, project: store.Project) -> str:
    """Put ``project``'s qualifying drafts to the vote as one decision; the proposal's id.

    An ``ApiError`` when it cannot go: not open, or put already (409), no qualifying draft (409),
    or the decisions room's refusal (no linked branches: 422)."""
    if (refused := _refusal(project)) is not None:
        raise ApiError(409, refused, hint=N_("see the project's page for its vote"))
    drafts = await store.drafts_of(app[DATABASE].reader, project.id)
    put = [d for d in drafts if d.state == "open" and d.qualified_at is not None]
    if not put:
        raise ApiError(
            409,
            N_("no draft of this project has reached the quorum of signatories"),
            hint=N_("a draft goes to the vote once enough members of the subtree signed it"),
        )
    username = app[CONFIG].node.name
    composed, now = await service.compose(app, username, body_of(app, project, put, app[CLOCK].now()))
    document = composed.created
    questions = proposal.questions_of(document)

    async def begin(conn) -> None:
        if not await store.begin_vote(conn, project.id, document["id"], to_epoch(now)):
            raise ApiError(409, N_("this project was put to the vote already"))
        for draft, question in zip(put, questions, strict=True):
            await store.set_draft_state(conn, draft.id, "voting", question_id=question["id"])
        for draft in drafts:
            if draft.state == "open" and draft not in put:
                await store.set_draft_state(conn, draft.id, "not_put")

    composed.changes.append(begin)
    await service.apply(app, username, composed, now=now)
    return str(document["id"])


async def after_signature(app: web.Application, project_id: str, draft_id: str) -> bool:
    """Call after recording a signature of ``draft_id`` (outside the transaction that recorded it).

    Marks the draft qualified the first time its standing signatories reach the quorum (when the
    caller has not already), and then, with ``[projects] put_to_vote = "auto"``, puts the project
    to the vote (a refusal is logged, and the admin's panel keeps the button). True when the draft
    qualifies (now or before) and its project is still open for it."""
    db, config = app[DATABASE], app[CONFIG]
    project, draft = await store.get_project(db.reader, project_id), await store.get_draft(db.reader, draft_id)
    if project is None or draft is None or project.state != "open" or draft.state != "open":
        return False
    if draft.qualified_at is None:
        async with db.transaction() as conn:
            if await store.count_signatories(conn, draft_id) < await rules.quorum(conn, config):
                return False
            await store.mark_qualified(conn, draft_id, to_epoch(app[CLOCK].now()))
    if config.projects.put_to_vote == "auto":
        await auto_vote(app, project)
    return True


async def auto_vote(app: web.Application, project: store.Project) -> bool:
    """``put_to_vote`` without the admin: a refusal is logged (the dashboard's panel still shows it)."""
    try:
        await put_to_vote(app, project)
    except ApiError as error:
        log.warning("project %s has qualifying drafts but was not put to the vote: %s", project.id, error.error)
        return False
    return True


def auto_vote_kind(app: web.Application) -> DueKind:
    """With ``put_to_vote = "auto"``, every minute: open projects with a qualifying draft go to the vote
    (drafts qualified by a Like in the inbox, where nothing may publish, or before a restart)."""

    async def due() -> list[store.Project]:
        if app[CONFIG].projects.put_to_vote != "auto":
            return []
        return await store.projects_with_qualified_drafts(app[DATABASE].reader)

    async def work(project: store.Project) -> bool:
        return await auto_vote(app, project)

    return DueKind(
        "project auto vote", outcome.PROJECT, due, work, key=lambda p: p.id, every=AUTO_EVERY, worker="decisions"
    )


async def kinds_context(app: web.Application) -> AsyncIterator[None]:
    """The room's due work on the application's runner (``cleanup_ctx``): the automatic vote, the outcome."""
    app[DUE_RUNNER].add([auto_vote_kind(app), outcome.outcome_kind(app)])
    yield


# --- the admin's button and panel, the home page, the project page's context


async def vote(request: web.Request) -> web.Response:
    """``POST /projects/{uuid}/vote``: the admin puts the project to the vote; back to the dashboard,
    or the dashboard again with the refusal in the project's panel."""
    found = await require_role(request, ("admin",))
    check_csrf(found, await request.post())
    project = await store.project_by_uuid(request.app[DATABASE].reader, request.match_info["uuid"])
    if project is None:
        raise ApiError(404, N_("there is no such project here"), hint=N_("see the projects on the dashboard"))
    try:
        await put_to_vote(request.app, project)
    except ApiError as error:
        request[REFUSAL_KEY] = (project.id, error.error, error.hint)
        parts: list[Part] = []
        for add in request.app[REGISTRY].admin_sections:
            parts.extend(await add(request))
        ordered = sorted(parts, key=lambda part: part.order)
        return await render(request, "admin.html", {"parts": ordered}, status=error.status)
    raise web.HTTPSeeOther("/admin#projects-vote")


async def admin_sections(request: web.Request) -> list[Part]:
    """The dashboard's "Projects ready for the vote" panel, when there is something to show."""
    reader = request.app[DATABASE].reader
    refused = request.get(REFUSAL_KEY)
    listed = []
    for project in await store.projects_with_qualified_drafts(reader):
        qualified = [d for d in await store.drafts_of(reader, project.id) if d.state == "open" and d.qualified_at]
        refusal = refused[1:] if refused and refused[0] == project.id else None
        listed.append({"project": project, "drafts": qualified, "refusal": refusal})
    if refused and not any(entry["refusal"] for entry in listed):
        listed.insert(0, {"project": None, "drafts": [], "refusal": refused[1:]})
    if not listed:
        return []
    return [Part(13, "project_vote_admin.html", {"projects": listed})]


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    """ "Adopted proposals": each decided project's adopted draft, its final text linked."""
    reader = request.app[DATABASE].reader
    adopted = []
    for project in await store.projects_in_states(reader, ("decided",), limit=100):
        if project.adopted_draft is None or project.adopted_draft in shown:
            continue
        draft = await store.get_draft(reader, project.adopted_draft)
        if draft is not None:
            adopted.append({"project": project, "draft": draft})
            shown.add(draft.id)
        if len(adopted) == HOME_SHOWN:
            break
    return [Part(44, "home_adopted.html", {"adopted": adopted})] if adopted else []


async def page_context(request: web.Request) -> dict:
    """What ``project_vote.html`` needs beyond the project page's own context: how long a vote
    lasts (every page; no query), and on a project's own page (``/projects/<uuid>``) whose vote
    began, its drafts as ``store.Draft`` rows (``vote_drafts``: their states and question ids)."""
    found: dict = {"project_vote_seconds": request.app[CONFIG].projects.vote_days * 86400}
    parts = request.path.split("/")
    if request.method == "GET" and len(parts) == 3 and parts[1] == "projects":
        reader = request.app[DATABASE].reader
        project = await store.project_by_uuid(reader, parts[2])
        if project is not None and project.state in ("voting", "decided"):
            found["vote_drafts"] = await store.drafts_of(reader, project.id)
    return found


def register(registry: Registry) -> None:
    registry.outcome_words.append(outcome.said)
    registry.admin_sections.append(admin_sections)
    registry.home_parts.append(home_parts)
    registry.page_context.append(page_context)


def setup(app: web.Application) -> None:
    app.router.add_post("/projects/{uuid}/vote", vote)
    app.cleanup_ctx.append(kinds_context)
