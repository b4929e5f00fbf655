"""The admin's JSON API (bearer token): domain and actor blocks, and received reports.

``GET /admin/blocks``; ``POST /admin/blocks`` with ``{"domain": ..., "reason": ...}`` or
``{"actor": ..., "reason": ...}``; ``DELETE /admin/blocks?domain=...`` (or ``?actor=...``).
``GET /admin/reports`` lists reports (``Flag``) received and sent, newest first.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from federation import jsonio
from node.core.appkeys import BLOCKLIST, CLOCK, DATABASE
from node.core.auth import require_admin
from node.core.clock import from_epoch, iso, to_epoch
from node.core.errors import ApiError
from node.core.processes import BLOCKS_CHANNEL
from node.moderation import blocks, reports


async def _json_body(request: web.Request) -> dict:
    try:
        body = jsonio.loads(await request.read())
    except jsonio.JsonError as error:
        raise ApiError(400, str(error)) from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _target(values) -> tuple[str, str]:
    """("domain", host) or ("actor", id) from a body or a query."""
    domain, actor = values.get("domain"), values.get("actor")
    if isinstance(domain, str) and not actor:
        normal = blocks.normalise_domain(domain)
        if normal is None:
            raise ApiError(400, f"{domain!r} is not a domain name", hint="like spam.example (subdomains are covered)")
        return "domain", normal
    if isinstance(actor, str) and not domain:
        if urlsplit(actor).scheme not in ("http", "https") or not urlsplit(actor).hostname:
            raise ApiError(400, f"{actor!r} is not an actor id (an http(s) URL)")
        return "actor", actor
    raise ApiError(400, "name exactly one of domain or actor")


async def list_blocks(request: web.Request) -> web.Response:
    require_admin(request)
    rows = await blocks.all_blocks(request.app[DATABASE].reader)
    return web.json_response(
        {
            "blocks": [
                {
                    "kind": r["kind"],
                    "value": r["value"],
                    "reason": r["reason"],
                    "created": iso(from_epoch(r["created_at"])),
                }
                for r in rows
            ]
        }
    )


async def add_block(request: web.Request) -> web.Response:
    require_admin(request)
    body = await _json_body(request)
    kind, value = _target(body)
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 1000:
        raise ApiError(400, "reason must be a string of at most 1000 characters")
    await apply_block(request.app, kind=kind, value=value, reason=reason)
    return web.json_response({"kind": kind, "value": value, "reason": reason}, status=201)


async def apply_block(app: web.Application, *, kind: str, value: str, reason: str) -> None:
    """Block and drop every relation with the blocked party, in one transaction."""
    async with app[DATABASE].transaction() as conn:
        await blocks.insert_block(conn, kind=kind, value=value, reason=reason, now=to_epoch(app[CLOCK].now()))
        await blocks.drop_relations(conn, kind=kind, value=value)
    await blocks_changed(app)


async def blocks_changed(app: web.Application) -> None:
    """The blocks in memory read again, here and (PostgreSQL) in the node's other processes."""
    await app[BLOCKLIST].load(app[DATABASE])
    await app[DATABASE].notify(BLOCKS_CHANNEL)


async def remove_block(request: web.Request) -> web.Response:
    require_admin(request)
    kind, value = _target(request.query)
    async with request.app[DATABASE].transaction() as conn:
        removed = await blocks.delete_block(conn, kind=kind, value=value)
    if not removed:
        raise ApiError(404, f"{value} is not blocked")
    await blocks_changed(request.app)
    return web.json_response({"kind": kind, "value": value, "removed": True})


async def list_reports(request: web.Request) -> web.Response:
    require_admin(request)
    rows = await reports.all_reports(request.app[DATABASE].reader)
    return web.json_response({"reports": [reports.as_json(row) for row in rows]})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/blocks", list_blocks)
    app.router.add_post("/admin/blocks", add_block)
    app.router.add_delete("/admin/blocks", remove_block)
    app.router.add_get("/admin/reports", list_reports)
