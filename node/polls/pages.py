"""Pages of polls and surveys: voting, results, and opening new ones.

- ``/polls/{uuid}`` (the page of the Question ``/objects/{uuid}``): the question, a vote
  form for a signed-in active member while it is open (radio buttons for ``oneOf``,
  checkboxes for ``anyOf``), and the results when they are visible.
- ``/surveys/{uuid}``: the survey's introduction and all its questions in one form.
- ``/polls/{uuid}/results``, ``/surveys/{uuid}/results``: counts, percentages and total
  voters per question; JSON unless the client asks for ``text/html``.
- ``/polls/new``, ``/surveys/new``: for the admin and secretaries; they publish through
  :func:`outbox.service.submit`, exactly as a client-to-server POST would; a refused new poll
  comes back as the form, with the reason and what was typed.

Votes cast here go through :func:`node.polls.model.cast_local_vote`, the same counting code as
votes from other servers. Every form carries the session's CSRF token. Polls that are not
public or unlisted are shown only to active members and the admin.
"""

from __future__ import annotations

import html
from datetime import datetime

from aiohttp import web

from node.core import objects
from node.core.appkeys import CLOCK, CONFIG, DATABASE, REGISTRY, URLS
from node.core.clock import iso, to_epoch
from node.core.errors import ApiError
from node.core.i18n import N_, zone
from node.core.registry import Registry
from node.core.rendering import render
from node.membership.members import PUBLISHER_ROLES
from node.membership.sessions import active_member_actor, check_csrf, require_role, viewer, viewer_role
from node.polls import model as polls
from node.polls import results as poll_results
from outbox import service

SURVEY_FORM_QUESTIONS = 6
#: A refused vote's status by its reason; any other reason is about who may vote: 403.
REFUSAL_STATUS: dict[str, int] = {
    polls.UNKNOWN_OPTION: 400,
    polls.AFTER_CLOSE: 409,
    polls.REPEATED_VOTE: 409,
    polls.REPEATED_OPTION: 409,
}


def _object_id(request: web.Request) -> str:
    return f"{request.app[URLS].base}/objects/{request.match_info['uuid']}"


def page_path(object_id: str, kind: str) -> str:
    return f"/{kind}/{object_id.rsplit('/', 1)[-1]}"


def _wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _now(request: web.Request) -> float:
    return to_epoch(request.app[CLOCK].now())


async def _visible_object(request: web.Request, object_id: str, kind: str) -> objects.StoredObject:
    stored = await objects.get(request.app[DATABASE].reader, object_id)
    if stored is None or stored.type != kind or stored.deleted is not None:
        raise ApiError(404, N_("nothing to vote on at {id}", id=object_id))
    if stored.visibility not in ("public", "unlisted") and await viewer_role(request) is None:
        raise ApiError(
            404,
            N_("nothing to vote on at {id}", id=object_id),
            hint=N_("this one is for the chapter's members: sign in"),
        )
    return stored


async def _question(request: web.Request) -> tuple[polls.Question, objects.StoredObject]:
    object_id = _object_id(request)
    stored = await _visible_object(request, object_id, "Question")
    question = await polls.get_question(request.app[DATABASE].reader, object_id)
    if question is None:
        raise ApiError(404, N_("{id} is not one of the chapter's polls", id=object_id))
    return question, stored


async def _survey(request: web.Request):
    object_id = _object_id(request)
    stored = await _visible_object(request, object_id, "Survey")
    survey = await polls.get_survey(request.app[DATABASE].reader, object_id)
    if survey is None:
        raise ApiError(404, N_("{id} is not one of the chapter's surveys", id=object_id))
    return survey, stored


async def ballot_form(request: web.Request, question: polls.Question) -> dict:
    """What the vote form of one question needs: whether to show it, and the viewer's choices so far."""
    voter = await active_member_actor(request)
    chosen = await polls.counted_choices_of(request.app[DATABASE].reader, question.id, voter) if voter else []
    return {
        "can_vote": voter is not None and question.accepts_votes_at(_now(request)) and not (question.single and chosen),
        "chosen": chosen,
    }


def _choices(form, name: str) -> list[str]:
    return [value for value in form.getall(name, []) if isinstance(value, str)]


def _refused(outcomes: list[polls.BallotOutcome]) -> None:
    """Nothing counted: a 4xx that says why."""
    if outcomes and not any(outcome.counted for outcome in outcomes):
        reason = outcomes[0].reason or N_("not counted")  # a message: the page says it in the reader's language
        status = REFUSAL_STATUS.get(reason, 403)
        raise ApiError(status, N_("your vote was not counted: {reason}", reason=reason))


# --- a poll --------------------------------------------------------------------------------


async def poll_page(request: web.Request) -> web.Response:
    question, stored = await _question(request)
    _own_page(request, stored)
    results = await poll_results.question_results(request.app[DATABASE].reader, question, _now(request))
    return await render(
        request,
        "poll.html",
        {
            "question": question,
            "poll": stored.data,
            "results": results,
            **await ballot_form(request, question),
            "poll_path": page_path(question.id, "polls"),
            "results_path": page_path(question.id, "polls") + "/results",
        },
    )


async def _ballot_post(request: web.Request):
    """The submitted form and the voter's actor id: a CSRF-checked POST from a signed-in account."""
    form = await request.post()
    found = await viewer(request)
    check_csrf(found, form)
    if found is None or found.username is None:
        raise ApiError(403, N_("only members vote; the admin session has no member account"))
    return form, request.app[URLS].actor(found.username)


async def poll_vote(request: web.Request) -> web.Response:
    form, voter = await _ballot_post(request)
    question, _ = await _question(request)
    async with request.app[DATABASE].transaction() as conn:
        fresh = await polls.get_question(conn, question.id)
        try:
            outcomes = await _local_vote(request)(conn, fresh, voter, _choices(form, "choice"), _now(request))
        except polls.VoteRefused as error:
            raise ApiError(400, N_("your vote was not counted: {reason}", reason=error.args[0])) from None
    _refused(outcomes)
    return await _counted(request, outcomes, page_path(question.id, "polls") + "/results")


def _local_vote(request: web.Request):
    return request.app[REGISTRY].local_vote or polls.cast_local_vote


async def _counted(request: web.Request, outcomes: list[polls.BallotOutcome], results_path: str) -> web.Response:
    """To the results; or, when the vote earned receipts (a proposal's copy), a page that shows
    them once, to this voter alone (never in a URL: the answer to the POST itself)."""
    receipts = [outcome for outcome in outcomes if outcome.receipt]
    if not receipts:
        raise web.HTTPSeeOther(results_path)
    response = await render(request, "vote_receipts.html", {"receipts": receipts, "results_path": results_path})
    response.headers["Cache-Control"] = "no-store"
    return response


async def poll_results_page(request: web.Request) -> web.Response:
    question, stored = await _question(request)
    results = await poll_results.question_results(request.app[DATABASE].reader, question, _now(request))
    if not _wants_html(request):
        return web.json_response(results)
    return await render(
        request,
        "poll_results.html",
        {"poll": stored.data, "results": results, "poll_path": page_path(question.id, "polls")},
    )


# --- a survey ------------------------------------------------------------------------------


async def survey_page(request: web.Request) -> web.Response:
    survey, stored = await _survey(request)
    _own_page(request, stored)
    db, now = request.app[DATABASE], _now(request)
    items = []
    for question in await polls.survey_questions(db.reader, survey["id"]):
        document = await objects.get(db.reader, question.id)
        items.append(
            {
                "question": question,
                "content": document.data.get("content", "") if document else "",
                **await ballot_form(request, question),
            }
        )
    return await render(
        request,
        "survey.html",
        {
            "survey": stored.data,
            "items": items,
            "can_answer": any(item["can_vote"] for item in items),
            "open": now < survey["end_time"],
            "survey_path": page_path(survey["id"], "surveys"),
            "results_path": page_path(survey["id"], "surveys") + "/results",
        },
    )


async def survey_answer(request: web.Request) -> web.Response:
    form, voter = await _ballot_post(request)
    survey, _ = await _survey(request)
    now = _now(request)
    outcomes: list[polls.BallotOutcome] = []
    async with request.app[DATABASE].transaction() as conn:
        for question in await polls.survey_questions(conn, survey["id"]):
            choices = _choices(form, f"q{question.position}")
            if not choices:
                continue  # a question left unanswered
            try:
                outcomes += await _local_vote(request)(conn, question, voter, choices, now)
            except polls.VoteRefused as error:
                raise ApiError(
                    400, N_("question {n}: {reason}", n=question.position + 1, reason=error.args[0])
                ) from None
    if not outcomes:
        raise ApiError(400, N_("no question was answered"))
    _refused(outcomes)
    return await _counted(request, outcomes, page_path(survey["id"], "surveys") + "/results")


async def survey_results_page(request: web.Request) -> web.Response:
    survey, _ = await _survey(request)
    results = await poll_results.survey_results(request.app[DATABASE].reader, survey, _now(request))
    if not _wants_html(request):
        return web.json_response(results)
    return await render(
        request, "survey_results.html", {"results": results, "survey_path": page_path(survey["id"], "surveys")}
    )


# --- opening polls and surveys (admin, secretary) ------------------------------------------


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _end_time(request: web.Request, form, name: str = "closes") -> str:
    """A datetime-local field (read in the node's time zone) to an ISO endTime; the composer checks it is in the future."""
    raw = _text(form, name)
    try:
        moment = datetime.fromisoformat(raw).replace(tzinfo=zone(request.app[CONFIG].node.timezone))
    except (TypeError, ValueError):
        raise ApiError(400, N_("{name} must be a date and time, like 2030-05-01T18:00", name=name)) from None
    return iso(moment)


def _question_body(form, prefix: str = "") -> dict | None:
    text = _text(form, f"{prefix}content")
    options = [line.strip() for line in _text(form, f"{prefix}options").splitlines() if line.strip()]
    if not text and not options:
        return None
    if not text or len(options) < 2:  # said here, in the reader's language, before the composer's English
        raise ApiError(400, N_("A question needs its text and at least two options, one per line."))
    kind = form.get(f"{prefix}kind", "oneOf")
    if kind not in polls.KINDS:
        raise ApiError(400, N_("the kind of question must be one of {kinds}", kinds=", ".join(polls.KINDS)))
    return {"type": "Question", "content": f"<p>{html.escape(text)}</p>", kind: options}


async def new_poll_form(request: web.Request) -> web.Response:
    await require_role(request, PUBLISHER_ROLES)
    return await render(request, "poll_new.html")


async def new_poll(request: web.Request) -> web.Response:
    await require_role(request, PUBLISHER_ROLES)
    form = await request.post()
    check_csrf(await viewer(request), form)
    try:
        body = _question_body(form)
        if body is None:
            raise ApiError(400, N_("the poll needs its question and options"))
        body.update(endTime=_end_time(request, form), hideResults=form.get("hide_results") == "on")
        published = await service.submit(request.app, request.app[CONFIG].node.name, body)
    except ApiError as error:  # the form again, with the reason and everything typed
        values = {key: form.get(key) for key in form if key != "csrf_token"}
        return await render(request, "poll_new.html", {"values": values, "error": error.error}, status=error.status)
    raise web.HTTPSeeOther(page_path(published.created_id, "polls"))


async def new_survey_form(request: web.Request) -> web.Response:
    await require_role(request, PUBLISHER_ROLES)
    return await render(request, "survey_new.html", {"slots": range(1, SURVEY_FORM_QUESTIONS + 1)})


async def new_survey(request: web.Request) -> web.Response:
    await require_role(request, PUBLISHER_ROLES)
    form = await request.post()
    check_csrf(await viewer(request), form)
    questions = [
        body for slot in range(1, SURVEY_FORM_QUESTIONS + 1) if (body := _question_body(form, f"q{slot}_")) is not None
    ]
    introduction = _text(form, "introduction")
    body = {
        "type": "Survey",
        "name": _text(form, "title"),
        "content": "".join(f"<p>{html.escape(p)}</p>" for p in introduction.split("\n\n") if p.strip()),
        "endTime": _end_time(request, form),
        "hideResults": form.get("hide_results") == "on",
        "orderedItems": questions,
    }
    published = await service.submit(request.app, request.app[CONFIG].node.name, body)
    raise web.HTTPSeeOther(page_path(published.created_id, "surveys"))


def register(registry: Registry) -> None:
    """A browser opening a Question's or a Survey's id lands on its page here."""
    registry.object_page_paths["Question"] = lambda object_id, _document: page_path(object_id, "polls")
    registry.object_page_paths["Survey"] = lambda object_id, _document: page_path(object_id, "surveys")


def _own_page(request: web.Request, stored: objects.StoredObject) -> None:
    """A poll another room shows on a page of its own (a decision's copy) is seen there."""
    path = request.app[REGISTRY].object_page_paths[stored.type](stored.id, stored.data)
    if path != request.path:
        raise web.HTTPFound(path)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/polls/new", new_poll_form)
    app.router.add_post("/polls/new", new_poll)
    app.router.add_get("/surveys/new", new_survey_form)
    app.router.add_post("/surveys/new", new_survey)
    app.router.add_get("/polls/{uuid}", poll_page)
    app.router.add_post("/polls/{uuid}/vote", poll_vote)
    app.router.add_get("/polls/{uuid}/results", poll_results_page)
    app.router.add_get("/surveys/{uuid}", survey_page)
    app.router.add_post("/surveys/{uuid}/answers", survey_answer)
    app.router.add_get("/surveys/{uuid}/results", survey_results_page)
