"""``/decisions/new``: the form that issues a proposal or a survey, for the admin of a node with a subtree.

The form has as many questions as the admin wants ("Add a question" sends the form back with one
more, everything typed kept), each ``oneOf`` or ``anyOf`` with its options one per line; the
policy in plain fields: shares in percent (pass threshold, block share, each quorum; empty:
none), the weight mode, a weight per linked branch (1 unless changed), the closing time and the
tally deadline (in the node's time zone). "Preview" composes the proposal exactly as publishing
would (the same composer, checked and signed, not applied) and shows what members will see;
"Publish" submits it through :func:`outbox.service.submit`, as the client-to-server API would.
Any refusal comes back on the same form, with the reason and what was typed.
"""

from __future__ import annotations

import html
from datetime import datetime

from aiohttp import web

from node.branches import link_store, names
from node.core.appkeys import CONFIG, DATABASE
from node.core.clock import iso
from node.core.errors import ApiError
from node.core.i18n import N_, zone
from node.core.rendering import formatter, render
from node.decisions import proposal, words
from node.membership.sessions import check_csrf, require_role
from node.polls import outbound as polls_out
from outbox import service

SHARE_FIELDS = ("pass_threshold", "block_share", "chapter_quorum", "roll_quorum", "turnout_quorum")
POLICY_NAMES = dict(
    zip(SHARE_FIELDS, ("passThreshold", "blockShare", "chapterQuorum", "rollQuorum", "turnoutQuorum"), strict=True)
)
DEFAULTS = {"pass_threshold": "50", "block_share": "10", "q1_options": "agree\nabstain\ndisagree\nblock"}


def page_of(object_id: str) -> str:
    """A decision's page on this node (a proposal's, or this chapter's copy's)."""
    return f"/decisions/{object_id.rsplit('/', 1)[-1]}"


class FormError(Exception):
    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def question_count(form) -> int:
    try:
        count = int(_text(form, "questions") or "1")
    except ValueError:
        count = 1
    return max(1, min(count, polls_out.MAX_SURVEY_QUESTIONS))


def _questions(form, count: int) -> list[dict]:
    found = []
    for n in range(1, count + 1):
        text = _text(form, f"q{n}_content")
        options = [line.strip() for line in _text(form, f"q{n}_options").splitlines() if line.strip()]
        if not text and not options:
            continue
        if not text or len(options) < 2:
            raise FormError(N_("Question {n} needs its text and at least two options, one per line.", n=n))
        kind = "anyOf" if form.get(f"q{n}_kind") == "anyOf" else "oneOf"
        found.append({"type": "Question", "content": f"<p>{html.escape(text)}</p>", kind: options})
    if not found:
        raise FormError(N_("Write at least one question, with its options."))
    return found


def _share(form, name: str) -> float | None:
    raw = _text(form, name).rstrip("%").strip()
    if not raw:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise FormError(N_("Shares are percentages from 0 to 100: {value} is not one.", value=raw))
    return value / 100


def _moment(request: web.Request, form, name: str, *, required: bool) -> str | None:
    raw = _text(form, name)
    if not raw and not required:
        return None
    try:
        moment = datetime.fromisoformat(raw).replace(tzinfo=zone(request.app[CONFIG].node.timezone))
    except ValueError:
        raise FormError(N_("Give the date and time in full, like 2030-05-01T18:00.")) from None
    return iso(moment)


def _weights(form) -> dict[str, float]:
    weights = {}
    for key in form:
        if key.startswith("branch_"):
            branch, raw = form.get(key), _text(form, "weight_" + key.removeprefix("branch_"))
            try:
                weight = float(raw.replace(",", ".")) if raw else 1.0
            except ValueError:
                raise FormError(N_("A branch's weight is a number, like 1 or 0.5.")) from None
            if isinstance(branch, str) and weight != 1.0:
                weights[branch] = weight
    return weights


def body_of(request: web.Request, form) -> dict:
    """The C2S object the form stands for: a Question, or a Survey of several, with its ``decision``."""
    questions = _questions(form, question_count(form))
    decision: dict = {"weightMode": "chapterShare" if form.get("weight_mode") == "chapterShare" else "ballots"}
    for field, name in POLICY_NAMES.items():
        if (value := _share(form, field)) is not None:
            decision[name] = value
    if weights := _weights(form):
        decision["weights"] = weights
    if deadline := _moment(request, form, "tally_deadline", required=False):
        decision["tallyDeadline"] = deadline
    end = _moment(request, form, "closes", required=True)
    title, introduction = _text(form, "title"), _text(form, "introduction")
    intro_html = "".join(f"<p>{html.escape(p.strip())}</p>" for p in introduction.split("\n\n") if p.strip())
    if len(questions) == 1 and not title and not intro_html:
        return {**questions[0], "endTime": end, "decision": decision}
    if not title:
        raise FormError(N_("A survey (several questions, or an introduction) needs a title."))
    return {
        "type": "Survey",
        "name": title,
        "content": intro_html,
        "endTime": end,
        "orderedItems": questions,
        "decision": decision,
    }


async def _branches(request: web.Request) -> list:
    reader = request.app[DATABASE].reader
    return [await names.name_of(reader, link.peer_id) for link in await link_store.children_in_state(reader, "linked")]


async def _page(request: web.Request, values: dict, *, error=None, preview=None, status: int = 200) -> web.Response:
    count = question_count(values)
    return await render(
        request,
        "decision_new.html",
        {
            "values": values,
            "slots": range(1, count + 1),
            "count": count,
            "branches": await _branches(request),
            "error": error,
            "preview": preview,
        },
        status=status,
    )


async def _require_issuer(request: web.Request):
    found = await require_role(request, ("admin",))
    if not await link_store.count_linked_children(request.app[DATABASE].reader):
        raise ApiError(
            409,
            N_("a decision goes down the tree: this node has no linked branches"),
            hint=N_("Link a branch below this node first, on the dashboard's Branch tree panel."),
        )
    return found


async def new_decision_form(request: web.Request) -> web.Response:
    await _require_issuer(request)
    return await _page(request, {**DEFAULTS, "questions": request.query.get("questions", "1")})


def _preview(request: web.Request, document: dict) -> dict:
    policy = document.get("decision") or {}
    return {
        "title": proposal.title_of(document),
        "introduction": document.get("content") if document.get("type") == "Survey" else None,
        "questions": [
            {
                "text": proposal.title_of({"content": q.get("content", "")}),
                "single": proposal.kind_of(q) == "oneOf",
                "options": proposal.options_of(q),
            }
            for q in proposal.questions_of(document)
        ],
        "rules": words.rules(policy, formatter(request), {}, survey=document.get("type") == "Survey"),
        "end": document.get("endTime"),
        "deadline": policy.get("tallyDeadline"),
    }


async def new_decision(request: web.Request) -> web.Response:
    found = await _require_issuer(request)
    form = await request.post()
    check_csrf(found, form)
    values = {key: form.get(key) for key in form if key != "csrf_token"}
    action = form.get("action")
    if action == "add":
        values["questions"] = str(question_count(form) + 1)
        return await _page(request, values)
    name = request.app[CONFIG].node.name
    try:
        body = body_of(request, form)
        if action == "preview":
            composed, _ = await service.compose(request.app, name, body)
            return await _page(request, values, preview=_preview(request, composed.new_object or {}))
        published = await service.submit(request.app, name, body)
    except FormError as error:
        return await _page(request, values, error=error.message, status=400)
    except ApiError as error:
        return await _page(request, values, error=error.error, status=error.status)
    raise web.HTTPSeeOther(page_of(published.created_id))
