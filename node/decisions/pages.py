"""Decisions in the browser: issuing one, its page at every level, a chapter's copy, the panels.

- ``/decisions/new`` (the admin of a node with linked children): a proposal or a survey with
  any number of questions (``oneOf`` or ``anyOf`` each), the policy in plain fields (shares in
  percent, the weight mode, a weight per linked branch, the closing time and the tally
  deadline), a preview of what members will see, and everything typed kept when something is
  wrong. It publishes through :func:`outbox.service.submit`, so the proposal is composed, signed
  and sent down exactly as a client-to-server POST of a ``Question`` or ``Survey`` with its
  ``decision`` would be (:mod:`node.decisions.issuing`); the preview is that same composition,
  not applied.
- ``/decisions/{uuid}``: where a browser opening a proposal's id, a chapter's copy or a copied
  question lands (``registry.object_page_paths``: a document with ``decision`` or ``proposal``
  comes here; any other Question or Survey keeps the polls room's page). For a proposal: what is
  asked, who issued it, the rules in words, the deadlines, each branch's reporting, and the outcome
  once there is one (a survey's: each question's most chosen answer or tie, never passed or not). For this chapter's copy: the same, who may vote (the roll frozen when the
  proposal arrived), and for the signed-in member either the vote form, or why they cannot vote
  (not a member, not on the roll, counted in another chapter), or that their vote is counted and
  since when; after the close, the organisation's outcome beside this chapter's own count.
  The outcome box says first what the outcome means when a room recognises the proposal (a
  project's vote: ``registry.outcome_words``, e.g. "«draft» adopted" with each draft's figures).
- Reasons: the copy's ballot form (``POST /decisions/{uuid}/ballot``, counted by the same
  ``registry.local_vote`` as the polls room's forms) takes an optional reason (at most
  :data:`MAX_REASON` characters) and "show my name with my reason"; a member who voted may change
  or remove it until the close (``POST /decisions/{uuid}/reason``; refused after the close with
  the reason why). The copy's page lists the reasons given, by their text's order, each as "A
  member" or by the member's display name when they chose it, and never beside a choice: a reason
  says nothing of how its member voted. Reasons stay at the chapter (``copy_store``).
- A member's account page: their votes on decisions, each with its receipt and where to check it.
- The dashboard's "Decisions" panel (the admin of a node with a subtree, or one with proposals):
  each proposal kept here, its phase, turnout so far and outcome; the home page's "Decisions of
  the organisation" on a node with a subtree.

Pages read the decision tables only through their rooms' functions, but for two small listings
(proposals newest first, a receipt's date) kept here as named SQL.
"""

from __future__ import annotations

from aiohttp import web

from node.branches import link_store, names
from node.core import objects
from node.core.appkeys import CLOCK, CONFIG, DATABASE, REGISTRY, URLS
from node.core.clock import to_epoch
from node.core.db import fetch_all, fetch_value
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Part, Registry
from node.core.rendering import formatter, render
from node.decisions import copy_store, proposal, results, store, words
from node.decisions.composing import new_decision, new_decision_form, page_of
from node.membership import accounts
from node.membership.sessions import active_member_actor, check_csrf, viewer
from node.polls import model as polls
from node.polls import results as poll_results
from node.polls.pages import REFUSAL_STATUS

LISTED = 20
HOME_SHOWN = 6
MAX_REASON = 1000  # characters of a reason given with a ballot


def _object_id(request: web.Request) -> str:
    return f"{request.app[URLS].base}/objects/{request.match_info['uuid']}"


def _now(request: web.Request) -> float:
    return to_epoch(request.app[CLOCK].now())


# --- listings ------------------------------------------------------------------------------


async def proposals(conn, *, limit: int) -> list[store.Proposal]:
    """The proposals kept here, newest first."""
    rows = await fetch_all(conn, "SELECT id FROM decision_proposals ORDER BY received_at DESC LIMIT ?", (limit,))
    found = [await store.get_proposal(conn, row["id"]) for row in rows]
    return [p for p in found if p is not None]


async def receipt_date(conn, proposal_id: str, voter: str) -> float | None:
    return await fetch_value(
        conn, "SELECT given_at FROM decision_receipts WHERE proposal_id = ? AND voter = ?", (proposal_id, voter)
    )


async def receipts_of(conn, voter: str, *, limit: int = 50) -> list:
    """A voter's receipts, newest first, with the copy each was given on (for their own account page)."""
    return await fetch_all(
        conn,
        "SELECT r.proposal_id, r.receipt, r.given_at, c.copy_id FROM decision_receipts r"
        " JOIN decision_copies c ON c.proposal_id = r.proposal_id WHERE r.voter = ? ORDER BY r.given_at DESC LIMIT ?",
        (voter, limit),
    )


async def account_parts(request: web.Request, username: str) -> list[Part]:
    """A member's own votes on decisions, each with its receipt (the page is private, never cached)."""
    conn = request.app[DATABASE].reader
    votes = []
    for row in await receipts_of(conn, request.app[URLS].actor(username)):
        prop = await store.get_proposal(conn, row["proposal_id"])
        votes.append(
            {
                "title": proposal.title_of(prop.document) if prop else row["proposal_id"],
                "page": page_of(row["copy_id"]),
                "receipt": row["receipt"],
                "given_at": row["given_at"],
                "check": f"{row['copy_id']}/receipts/{row['receipt']}",
            }
        )
    return [Part(40, "account_votes.html", {"votes": votes})] if votes else []


async def summary(request: web.Request, prop: store.Proposal) -> dict:
    """One line of a list: title, issuer, phase, closing time, turnout so far, outcome, where to go."""
    conn, now, fmt = request.app[DATABASE].reader, _now(request), formatter(request)
    report = await results.results(conn, prop, now)
    copy = await copy_store.copy_of(conn, prop.id)
    local = request.app[URLS].is_local(prop.id)
    return {
        "id": prop.id,
        "title": proposal.title_of(prop.document),
        "issuer": (await names.name_of(conn, prop.issuer)).name if not local else request.app[CONFIG].node.display_name,
        "phase": report["status"],
        "phase_words": words.PHASE[report["status"]],
        "end": prop.document.get("endTime"),
        "voters": report["voters"],
        "electorate": report["electorate"],
        "outcome": words.outcome(report["outcome"], fmt),
        "href": page_of(copy["copy_id"]) if copy else page_of(prop.id) if local else prop.id,
        "results": f"{prop.id}/results",
        "has_copy": copy is not None,
    }


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    reader = request.app[DATABASE].reader
    if not await link_store.count_linked_children(reader):
        return []
    listed = [await summary(request, p) for p in await proposals(reader, limit=HOME_SHOWN)]
    return [Part(45, "home_decisions.html", {"decisions": listed}, wide=True)]


async def poll_list_parts(request: web.Request) -> list[Part]:
    """The Polls page of a node that holds proposals without copies of its own (a region, the
    international): the organisation's open decisions, where its own members would look for them."""
    reader = request.app[DATABASE].reader
    listed = [await summary(request, p) for p in await proposals(reader, limit=LISTED)]
    open_here = [d for d in listed if d["phase"] == "open" and not d["has_copy"]]  # a copy is a poll here already
    if not open_here:
        return []
    return [
        Part(10, "home_decisions.html", {"decisions": open_here, "title": N_("Open decisions of the organisation")})
    ]


async def admin_sections(request: web.Request) -> list[Part]:
    reader = request.app[DATABASE].reader
    has_subtree = bool(await link_store.count_linked_children(reader))
    kept = await proposals(reader, limit=LISTED)
    if not has_subtree and not kept:
        return []
    listed = [await summary(request, p) for p in kept]
    return [Part(11, "admin_decisions.html", {"decisions": listed, "can_issue": has_subtree})]


# --- a proposal's page, and a chapter's copy ------------------------------------------------


def _questions(document: dict) -> list[dict]:
    return [
        {
            "id": q["id"],
            "text": proposal.title_of({"content": q.get("content") or q.get("name") or ""}),
            "single": proposal.kind_of(q) == "oneOf",
            "options": proposal.options_of(q),
        }
        for q in proposal.questions_of(document)
    ]


async def _branches(conn, report: dict) -> list[dict]:
    """Each branch of the electorate, flattened with its depth, by name and place."""
    flat: list[dict] = []

    async def walk(entries: list[dict], depth: int) -> None:
        for entry in entries:
            name = await names.name_of(conn, entry["id"])
            flat.append({**entry, "name": name, "depth": depth, "status_words": words.BRANCH_STATUS[entry["status"]]})
            await walk(entry["children"], depth + 1)

    await walk(report["branches"], 0)
    return flat


async def decision_context(request: web.Request, prop: store.Proposal) -> dict:
    conn, now, fmt = request.app[DATABASE].reader, _now(request), formatter(request)
    report = await results.results(conn, prop, now)
    branches = await _branches(conn, report)
    policy = prop.document.get("decision") or {}
    weights = {branch: (await names.name_of(conn, branch)).name for branch in policy.get("weights") or {}}
    local = request.app[URLS].is_local(prop.issuer)
    issuer = request.app[CONFIG].node.display_name if local else (await names.name_of(conn, prop.issuer)).name
    survey = prop.document.get("type") == "Survey"
    said = results.meaning(request.app[REGISTRY].outcome_words, prop.document, (prop.outcome or {}).get("result"), fmt)
    rules = words.rules(policy, fmt, weights, survey=survey)
    if said is not None and said.get("rule"):  # the room's own rule replaces "nothing passes or fails"
        rules = [said["rule"], *(rule for rule in rules if rule != words.SURVEY_RULE)]
    return {
        "proposal": prop.document,
        "title": proposal.title_of(prop.document),
        "issuer": issuer,
        "issuer_site": names.site_of(prop.issuer),
        "questions": _questions(prop.document),
        "survey": survey,
        "rules": rules,
        "end": prop.document.get("endTime"),
        "deadline": policy.get("tallyDeadline"),
        "phase": report["status"],
        "phase_words": words.PHASE[report["status"]],
        "report": report,
        "outcome": words.outcome(report["outcome"], fmt),
        "said": said,
        "answers": words.answers(report["questions"], fmt),
        "branches": branches,
        "results_path": f"{prop.id}/results",
        "statuses": words.STATUS,
    }


async def _voter_state(request: web.Request, copy, questions: list[polls.Question]) -> dict:
    """What the signed-in person may do with this copy, and why."""
    conn, now = request.app[DATABASE].reader, _now(request)
    open_now = bool(questions) and questions[0].accepts_votes_at(now)
    found = await viewer(request)
    if found is None or found.username is None:
        return {"state": "signed out" if found is None else "no account", "open": open_now}
    voter = await active_member_actor(request)
    if voter is None:
        return {"state": "not a member", "open": open_now}
    entry = await copy_store.roll_entry(conn, copy["proposal_id"], voter)
    if entry is None:
        return {"state": "not on roll", "open": open_now}
    if entry["excluded"]:
        return {"state": "counted elsewhere", "open": open_now}
    chosen = {q.id: await polls.counted_choices_of(conn, q.id, voter) for q in questions}
    voted_at = await receipt_date(conn, copy["proposal_id"], voter)
    if any(chosen.values()):
        return {"state": "voted", "open": open_now, "chosen": chosen, "voted_at": voted_at}
    return {"state": "may vote" if open_now else "closed", "open": open_now, "chosen": chosen}


async def _copy_questions(conn, copy) -> tuple[dict, list[polls.Question]]:
    """The copy as served, and its questions (a Survey's, or the one Question)."""
    stored = await objects.get(conn, copy["copy_id"])
    document = stored.data if stored is not None else {}
    if document.get("type") == "Survey":
        return document, await polls.survey_questions(conn, copy["copy_id"])
    return document, [q for q in [await polls.get_question(conn, copy["copy_id"])] if q is not None]


async def _reasons(request: web.Request, proposal_id: str) -> list[dict]:
    """The reasons given, each with its member's display name only when they chose to show it."""
    conn, urls = request.app[DATABASE].reader, request.app[URLS]
    rows = await copy_store.reasons_of(conn, proposal_id)
    named = {row["voter"]: accounts.username_of_actor(urls, row["voter"]) for row in rows if row["named"]}
    shown = await accounts.display_names(conn, [username for username in named.values() if username])
    listed = []
    for row in rows:
        username = named.get(row["voter"])
        listed.append({"text": row["reason"], "name": (shown.get(username) or username) if username else None})
    return listed


async def copy_context(request: web.Request, copy) -> dict:
    conn = request.app[DATABASE].reader
    prop = await store.get_proposal(conn, copy["proposal_id"])
    if prop is None:
        raise ApiError(404, N_("this copy's proposal is not kept here"))
    document, questions = await _copy_questions(conn, copy)
    counts = [await poll_results.question_results(conn, q, _now(request)) for q in questions]
    me = await _voter_state(request, copy, questions)
    voter = await active_member_actor(request) if me["state"] == "voted" else None
    here = page_of(copy["copy_id"])
    return {
        **await decision_context(request, prop),
        "copy": document,
        "copy_questions": list(zip(questions, counts, _questions(prop.document), strict=False)),
        "vote_path": f"{here}/ballot",
        "reason_path": f"{here}/reason",
        "max_reason": MAX_REASON,
        "reasons": await _reasons(request, prop.id),
        "my_reason": await copy_store.reason_of(conn, prop.id, voter) if voter else None,
        "roll_size": copy["roll_size"],
        "frozen_at": copy["frozen_at"],
        "me": me,
    }


async def decision_page(request: web.Request) -> web.Response:
    conn, object_id = request.app[DATABASE].reader, _object_id(request)
    copy = await copy_store.copy_by_id(conn, object_id)
    if copy is None:
        copied = await copy_store.copied_question(conn, object_id)  # one question of a survey's copy
        copy = await copy_store.copy_of(conn, copied["proposal_id"]) if copied is not None else None
        if copy is not None:
            raise web.HTTPFound(page_of(copy["copy_id"]))
    if copy is not None:
        return await render(request, "decision.html", await copy_context(request, copy))
    prop = await store.get_proposal(conn, object_id)
    if prop is None:
        raise ApiError(
            404,
            N_("no decision here with that id"),
            hint=N_("Check the address, or see the decisions on the home page."),
        )
    return await render(request, "decision.html", await decision_context(request, prop))


# --- a ballot with its reason, and a reason changed --------------------------------------------


def _reason_from(form) -> tuple[str, bool]:
    """The reason typed (trimmed, at most :data:`MAX_REASON` characters) and whether to show the name."""
    typed = form.get("reason", "")
    reason = typed.replace("\x00", "").strip() if isinstance(typed, str) else ""
    if len(reason) > MAX_REASON:
        raise ApiError(
            400,
            N_("a reason has at most {n} characters", n=MAX_REASON),
            hint=N_("shorten your reason; your vote was not sent"),
        )
    return reason, form.get("named") in ("1", "on", "true")


async def _member_on_copy(request: web.Request):
    """(the CSRF-checked form, the signed-in member's actor id, the copy) for a POST on a copy's page."""
    form = await request.post()
    found = await viewer(request)
    check_csrf(found, form)
    voter = await active_member_actor(request) if found is not None and found.username else None
    if voter is None:
        raise ApiError(403, N_("only members of this chapter vote here"), hint=N_("sign in with your member account"))
    copy = await copy_store.copy_by_id(request.app[DATABASE].reader, _object_id(request))
    if copy is None:
        raise ApiError(404, N_("no copy of a proposal here with that id"))
    return form, voter, copy


def _not_counted(outcomes: list[polls.BallotOutcome]) -> ApiError:
    reason = outcomes[0].reason or N_("not counted")
    return ApiError(REFUSAL_STATUS.get(reason, 403), N_("your vote was not counted: {reason}", reason=reason))


async def cast_ballot(request: web.Request) -> web.Response:
    """``POST /decisions/{uuid}/ballot``: the member's answers on the copy, counted as the polls room's
    forms count them (``registry.local_vote``), and their reason kept in the same transaction."""
    form, voter, copy = await _member_on_copy(request)
    reason, named = _reason_from(form)
    db, now, cast = request.app[DATABASE], _now(request), request.app[REGISTRY].local_vote or polls.cast_local_vote
    outcomes: list[polls.BallotOutcome] = []
    async with db.transaction() as conn:
        document, questions = await _copy_questions(conn, copy)
        for question in questions:
            field = f"q{question.position}" if document.get("type") == "Survey" else "choice"
            choices = [value for value in form.getall(field, []) if isinstance(value, str)]
            if not choices:
                continue  # a question left unanswered
            try:
                outcomes += await cast(conn, question, voter, choices, now)
            except polls.VoteRefused as error:
                raise ApiError(400, N_("your vote was not counted: {reason}", reason=error.args[0])) from None
        if reason and any(outcome.counted for outcome in outcomes):
            await copy_store.put_reason(conn, copy["proposal_id"], voter, reason, named=named, now=now)
    if not outcomes:
        raise ApiError(400, N_("no question was answered"))
    if not any(outcome.counted for outcome in outcomes):
        raise _not_counted(outcomes)
    receipts = [outcome for outcome in outcomes if outcome.receipt]
    context = {"receipts": receipts, "results_path": page_of(copy["copy_id"])}
    response = await render(request, "vote_receipts.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def give_reason(request: web.Request) -> web.Response:
    """``POST /decisions/{uuid}/reason``: a member who voted changes their reason (empty: removes it),
    until the close; back to the copy's reasons."""
    form, voter, copy = await _member_on_copy(request)
    reason, named = _reason_from(form)
    reader = request.app[DATABASE].reader
    prop = await store.get_proposal(reader, copy["proposal_id"])
    if prop is None or _now(request) >= prop.end_time:
        raise ApiError(
            409,
            N_("the vote has closed: a reason can no longer be given or changed"),
            hint=N_("the reasons given before the close stay on the decision's page"),
        )
    if await copy_store.receipt_of(reader, prop.id, voter) is None:
        raise ApiError(403, N_("a reason goes with a ballot: vote first"), hint=N_("the vote form takes your reason"))
    async with request.app[DATABASE].transaction() as conn:
        if reason:
            await copy_store.put_reason(conn, prop.id, voter, reason, named=named, now=_now(request))
        else:
            await copy_store.drop_reason(conn, prop.id, voter)
    raise web.HTTPSeeOther(page_of(copy["copy_id"]) + "#reasons")


def with_decisions(path_of):
    """The polls room's page for a Question or Survey, or the decision's for a proposal or a copy."""

    def page(object_id: str, document: dict | None = None) -> str:
        if document and ("decision" in document or "proposal" in document):
            return page_of(object_id)
        return path_of(object_id, document)

    return page


def register(registry: Registry) -> None:
    for kind in ("Question", "Survey"):
        registry.object_page_paths[kind] = with_decisions(registry.object_page_paths[kind])
    registry.home_parts.append(home_parts)
    registry.admin_sections.append(admin_sections)
    registry.account_parts.append(account_parts)
    registry.poll_list_parts.append(poll_list_parts)
    registry.nav_links.append((55, "/decisions", N_("Decisions")))


async def decisions_index(request: web.Request) -> web.Response:
    reader = request.app[DATABASE].reader
    listed = [await summary(request, p) for p in await proposals(reader, limit=100)]
    can_issue = bool(await link_store.count_linked_children(reader))
    return await render(request, "decisions.html", {"decisions": listed, "can_issue": can_issue})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/decisions", decisions_index)
    app.router.add_get("/decisions/new", new_decision_form)
    app.router.add_post("/decisions/new", new_decision)
    app.router.add_get("/decisions/{uuid}", decision_page)
    app.router.add_post("/decisions/{uuid}/ballot", cast_ballot)
    app.router.add_post("/decisions/{uuid}/reason", give_reason)
