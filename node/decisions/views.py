"""The decisions' read side: a proposal's results, a copy's leaves, a receipt's inclusion proof.

- ``GET /objects/{uuid}/results`` (the proposal's id + ``/results``): JSON (``results``, with what a
  room says the outcome means: ``registry.outcome_words``), or a
  page when a browser asks for HTML: the outcome first, then the rules that produced it (in words,
  :mod:`node.decisions.words`), the counts of each question, and the bars of each branch and
  chapter by name and place.
- ``GET /objects/{uuid}/leaves`` (a copy's id + ``/leaves``): the anonymous leaves exactly as
  the tally was signed over them, in canonical order, as an ``OrderedCollection`` (what every
  level above recounts and checks the root against); only after the close (404 before: while
  voting is open, a leaf would tell who just voted how).
- ``GET /objects/{uuid}/receipts/{receipt}``: for whoever holds a receipt, their leaf, index and
  audit path under the root of the signed tally (RFC 9162), to check with
  ``node.decisions.leaves.verify_receipt``, or as a page that says whether it checks out (with a
  copy button for the receipt, and ``?format=json`` for the proof as data). A receipt no one was
  given answers 404.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from federation import jsonio
from federation.activitystreams import AS_CONTEXT
from node.core.appkeys import CLOCK, DATABASE, REGISTRY, URLS
from node.core.clock import to_epoch
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.rendering import render
from node.decisions import copy_store, leaves, pages, proposal, results, store, tallying


def _object_id(request: web.Request) -> str:
    return f"{request.app[URLS].base}/objects/{request.match_info['uuid']}"


async def results_view(request: web.Request) -> web.Response:
    conn = request.app[DATABASE].reader
    prop = await store.get_proposal(conn, _object_id(request))
    if prop is None:
        raise ApiError(404, N_("no proposal here with that id"), hint=N_("results are at a proposal's id + /results"))
    document = await results.results(
        conn, prop, to_epoch(request.app[CLOCK].now()), request.app[REGISTRY].outcome_words
    )
    if "text/html" not in request.headers.get("Accept", ""):
        return web.json_response(document)
    return await render(
        request, "decision_results.html", {**await pages.decision_context(request, prop), "r": document}
    )


async def _copy(request: web.Request):
    copy = await copy_store.copy_by_id(request.app[DATABASE].reader, _object_id(request))
    if copy is None:
        raise ApiError(404, N_("no copy of a proposal here with that id"))
    return copy


def _signed(copy) -> tuple[dict, list[dict]]:
    """(the tally as signed, the leaves it was signed over); 404 before the tally is signed at the close."""
    if not copy["tally"] or not copy["leaves"]:
        raise ApiError(
            404,
            N_("the leaves and their proofs are served once the vote has closed and the chapter's tally is signed"),
            hint=N_("come back after the proposal's endTime"),
        )
    return jsonio.loads(copy["tally"]), jsonio.loads(copy["leaves"])


async def leaves_view(request: web.Request) -> web.Response:
    copy = await _copy(request)
    _, made = _signed(copy)
    return web.json_response(
        {
            "@context": AS_CONTEXT,
            "id": tallying.leaves_url(copy["copy_id"]),
            "type": "OrderedCollection",
            "totalItems": len(made),
            "orderedItems": made,
        },
        content_type="application/activity+json",
    )


async def receipt_view(request: web.Request) -> web.Response:
    """A voter's own leaf and its inclusion proof under the signed root: private to whoever holds
    the receipt (``Cache-Control: private, no-store``); JSON, or a page that checks it."""
    copy = await _copy(request)
    tally, made = _signed(copy)
    chapter = tally.get("attributedTo") or ""
    mine = leaves.commitment(copy["proposal_id"], chapter, request.match_info["receipt"])
    index = next((i for i, entry in enumerate(made) if entry["commitment"] == mine), None)
    if index is None:
        raise ApiError(404, N_("no counted ballot has this receipt"), hint=N_("check the receipt you were sent"))
    proof: dict[str, Any] = {
        "leaf": made[index],
        "index": index,
        "size": len(made),
        "proof": leaves.inclusion_proof(made, index),
        "merkleRoot": tally.get("merkleRoot"),
        "tally": tally,
    }
    headers = {"Cache-Control": "private, no-store"}
    if "text/html" not in request.headers.get("Accept", "") or request.query.get("format") == "json":
        return web.json_response(proof, headers=headers)
    verified = leaves.verify_receipt(proof["leaf"], index, len(made), proof["proof"], proof["merkleRoot"] or "")
    response = await render(
        request,
        "decision_receipt.html",
        {
            "p": proof,
            "verified": verified,
            "copy": copy,
            "receipt": request.match_info["receipt"],
            "answers": await _answers_in_order(request, copy["proposal_id"], made[index].get("answers") or {}),
        },
    )
    response.headers.update(headers)
    return response


async def _answers_in_order(request: web.Request, proposal_id: str, answers: dict) -> list[tuple[int, str, list]]:
    """A leaf's answers (keyed by question id, in canonical order) as the proposal asks them:
    (its number, its text, the choices)."""
    prop = await store.get_proposal(request.app[DATABASE].reader, proposal_id)
    asked = proposal.questions_of(prop.document) if prop is not None else []
    numbered = {q["id"]: (n, proposal.title_of({"content": q.get("content") or ""})) for n, q in enumerate(asked, 1)}
    found = [(*numbered.get(qid, (len(numbered) + 1, qid)), choices) for qid, choices in answers.items()]
    return sorted(found, key=lambda entry: entry[0])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/objects/{uuid}/results", results_view)
    app.router.add_get("/objects/{uuid}/leaves", leaves_view)
    app.router.add_get("/objects/{uuid}/receipts/{receipt}", receipt_view)
