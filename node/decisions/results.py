"""``GET <proposal id>/results``: the breakdown every level can serve, by branch and chapter.

``signedProposal`` is the proposal exactly as its issuer signed it (what is served at its id
changes at the close: closed, with the aggregate counts). ``status``: ``open`` before ``endTime``, ``counting`` until the outcome, ``final`` after;
``outcome`` (the signed outcome's result once there is one, else what the tallies kept
here give so far); ``meaning``: what the signed outcome means for a proposal another room
recognises, as that room's data (a project's vote: the adopted draft's id and title, or
"default stands", each draft's votes for and against; :func:`meaning`), else None; ``electorate``, ``voters``; ``questions`` with every option's aggregate
count and ``votersCount``; ``branches``: this level's subtree as the electorate froze it,
each ``{"id", "level", "status", "reason", "tally", "children"}``, where ``tally`` is the
signed tally (or a branch's signed aggregate) exactly as received and signed: tallies carry
nothing per voter, so anyone can check each one's proof with its chapter's published key,
recount its leaves and redo the arithmetic (``chapterhouse verify``).

:func:`meaning`: what the signed outcome means for a proposal another room recognises (a project's
vote: ``registry.outcome_words``), for the news item, the copy's page and the ``/results`` page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC
from typing import Any

from federation import jsonio
from node.branches import reports
from node.core.db import Connection
from node.core.i18n import Formatter
from node.decisions import deciding, received, store


def _entry(branch: str, level: str | None, kept: dict | None, default: str) -> dict:
    status = kept["status"] if kept else default
    return {
        "id": branch,
        "level": level,
        "status": status,
        "reason": kept["reason"] if kept else None,
        "tally": kept["document"] if kept else None,
        "children": [],
    }


async def branches(conn: Connection, prop: store.Proposal) -> list[dict]:
    kept = {t["origin"]: t for t in await received.tallies(conn, prop.id)}
    aggregates = {  # a branch's own sum, shown on its entry: never in place of a chapter's tally
        origin: {"status": "reported", "reason": None, "document": document}
        for origin, document in (await received.aggregates(conn, prop.id)).items()
    }
    top: list[dict] = []
    made: dict[str, dict] = {}
    for elector in await store.electorate(conn, prop.id):
        siblings = top
        for branch in reversed(elector["path"]):  # from the top down to the chapter's parent
            if branch not in made:
                row = await reports.get(conn, branch)
                level = None if row is None else jsonio.loads(row["report"]).get("level")
                made[branch] = _entry(branch, level, aggregates.get(branch), "not reporting")
                siblings.append(made[branch])
            siblings = made[branch]["children"]
        chapter = _entry(elector["chapter"], elector["level"], kept.get(elector["chapter"]), "not reporting")
        chapter["roll"] = elector["roll"]
        siblings.append(chapter)
    return top


def status_of(prop: store.Proposal, now: float) -> str:
    if prop.outcome is not None:
        return "final"
    return "open" if now < prop.end_time else "counting"


async def results(conn: Connection, prop: store.Proposal, now: float, words: Iterable[Callable[..., Any]] = ()) -> dict:
    """The breakdown; ``words`` (``registry.outcome_words``): the rooms asked what the signed outcome
    means (``meaning``: the room's ``json``, e.g. a project's adopted draft), None without one."""
    result = prop.outcome["result"] if prop.outcome else await deciding.result_of(conn, prop)
    status = status_of(prop, now)
    outcome, questions = None, result["questions"]
    if prop.outcome is not None:
        outcome = {"status": result["status"], "reason": result["reason"], "agreement": result["agreement"]}
    else:  # no outcome, not even a question's, before the issuer has signed one
        questions = [{k: v for k, v in question.items() if k != "outcome"} for question in questions]
    return {
        "id": prop.id,
        "status": status,
        "outcome": outcome,
        "meaning": _meaning_data(words, prop),
        "electorate": result["electorate"],
        "voters": result["voters"],
        "questions": questions,
        "branches": await branches(conn, prop),
        "signedOutcome": prop.outcome,
        "signedProposal": prop.document,
    }


def _meaning_data(words: Iterable[Callable[..., Any]], prop: store.Proposal) -> dict | None:
    said = meaning(words, prop.document, (prop.outcome or {}).get("result"), Formatter("en", UTC))
    found = said.get("json") if said is not None else None
    return found if isinstance(found, dict) else None


def meaning(hooks: Iterable[Callable[..., Any]], document: dict, result: dict | None, fmt: Formatter) -> dict | None:
    """The first room's word on what the signed outcome's ``result`` means for the proposal
    ``document`` (``registry.outcome_words``), or None: no outcome yet, or no room recognises it."""
    if not isinstance(result, dict):
        return None
    for said in hooks:
        found = said(document, result, fmt)
        if found is not None:
            return found
    return None
