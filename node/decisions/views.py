"""The decisions' read side: a proposal's results, a copy's leaves, a receipt's inclusion proof.

- ``GET /objects/{uuid}/results`` (the proposal's id + ``/results``): JSON (``results``), or a
  page with result bars by branch and chapter when a browser asks for HTML.
- ``GET /objects/{uuid}/leaves`` (a copy's id + ``/leaves``): the anonymous leaves, in order,
  as an ``OrderedCollection`` (what every level above recounts and checks the root against).
- ``GET /objects/{uuid}/receipts/{receipt}``: for whoever holds a receipt, its leaf, index and
  audit path under the root of the signed tally (RFC 9162), to check with
  ``node.decisions.tally.verify_receipt``. A receipt no one was given answers 404.
"""

from __future__ import annotations

from aiohttp import web

from federation import jsonio
from federation.activitystreams import AS_CONTEXT
from node.core.appkeys import CLOCK, DATABASE, URLS
from node.core.clock import to_epoch
from node.core.errors import ApiError
from node.core.rendering import render
from node.decisions import results, store, tallying
from node.decisions import tally as tallies


def _object_id(request: web.Request) -> str:
    return f"{request.app[URLS].base}/objects/{request.match_info['uuid']}"


async def results_view(request: web.Request) -> web.Response:
    conn = request.app[DATABASE].reader
    prop = await store.get_proposal(conn, _object_id(request))
    if prop is None:
        raise ApiError(404, "no proposal here with that id", hint="results are at a proposal's id + /results")
    document = await results.results(conn, prop, to_epoch(request.app[CLOCK].now()))
    if "text/html" not in request.headers.get("Accept", ""):
        return web.json_response(document)
    return await render(request, "decision_results.html", {"r": document, "proposal": prop.document})


async def _copy(request: web.Request):
    copy = await store.copy_by_id(request.app[DATABASE].reader, _object_id(request))
    if copy is None:
        raise ApiError(404, "no copy of a proposal here with that id")
    return copy


async def leaves_view(request: web.Request) -> web.Response:
    copy = await _copy(request)
    rows = await store.leaves(request.app[DATABASE].reader, copy["proposal_id"])
    return web.json_response(
        {
            "@context": AS_CONTEXT,
            "id": tallying.leaves_url(copy["copy_id"]),
            "type": "OrderedCollection",
            "totalItems": len(rows),
            "orderedItems": [tallying.leaf_of(row) for row in rows],
        },
        content_type="application/activity+json",
    )


async def receipt_view(request: web.Request) -> web.Response:
    copy = await _copy(request)
    rows = await store.leaves(request.app[DATABASE].reader, copy["proposal_id"])
    index = next((i for i, row in enumerate(rows) if row["receipt"] == request.match_info["receipt"]), None)
    if index is None:
        raise ApiError(404, "no counted ballot has this receipt")
    leaves = [tallying.leaf_of(row) for row in rows]
    tally = results.public_tally(store_tally(copy))
    return web.json_response(
        {
            "leaf": leaves[index],
            "index": index,
            "size": len(leaves),
            "proof": tallies.inclusion_proof(leaves, index),
            "merkleRoot": tally.get("merkleRoot") if tally else None,
            "tally": tally,
        }
    )


def store_tally(copy) -> dict | None:
    return jsonio.loads(copy["tally"]) if copy["tally"] else None


def add_routes(app: web.Application) -> None:
    app.router.add_get("/objects/{uuid}/results", results_view)
    app.router.add_get("/objects/{uuid}/leaves", leaves_view)
    app.router.add_get("/objects/{uuid}/receipts/{receipt}", receipt_view)
