"""The admin dashboard (``/admin``): one page of panels, each from the room that owns it.

Panels are the registry's ``admin_sections`` (``hook(request) -> [Part]``), shown in order:
membership requests (membership), blocks and reports (moderation), and here, in the shell,
the chapter's summary (edited in place: the home page shows it), follow requests waiting
for the admin (``manually_approves_followers``), and delivery health: the queues' depths,
hosts in backoff, and dead deliveries with their reasons and a retry button. The tree room
adds its children and parent links as one more ``admin_sections`` part.

Everything here needs an admin (the admin token's session, or a member with the role admin);
every form carries the session's CSRF token. Answers to follow requests go through the
outbox (``Accept`` / ``Reject`` of the Follow) as the client-to-server API would.
"""

from __future__ import annotations

from aiohttp import web

from node.core import deliveries, inbox_items
from node.core.appkeys import CLOCK, CONFIG, DATABASE, DELIVERY_WORKER, REGISTRY
from node.core.clock import to_epoch
from node.core.db import fetch_all
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Part
from node.core.rendering import render
from node.membership.sessions import check_csrf, require_role
from node.web import settings
from outbox.service import submit

DEAD_SHOWN = 50


async def _follow_requests(request: web.Request) -> list[Part]:
    rows = await fetch_all(
        request.app[DATABASE].reader,
        "SELECT follower_id, follow_id, created_at FROM followers"
        " WHERE username = ? AND state = 'pending' ORDER BY created_at LIMIT 100",
        (request.app[CONFIG].node.name,),
    )
    return [Part(15, "admin_follows.html", {"requests": rows})]


async def _delivery_health(request: web.Request) -> list[Part]:
    reader, now = request.app[DATABASE].reader, to_epoch(request.app[CLOCK].now())
    dead = await fetch_all(
        reader,
        "SELECT seq, activity_id, inbox, host, attempts, last_status, last_error,"
        " finished_at FROM deliveries WHERE state = 'dead' ORDER BY seq DESC LIMIT ?",
        (DEAD_SHOWN,),
    )
    return [
        Part(
            40,
            "admin_deliveries.html",
            {
                "queues": await deliveries.count_by_state(reader),
                "inbox": await inbox_items.count_by_state(reader),
                "backoff": await deliveries.hosts_in_backoff(reader, now=now),
                "dead": dead,
            },
            wide=True,
        )
    ]


async def _about(request: web.Request) -> list[Part]:
    return [Part(5, "admin_about.html", {"summary": await settings.summary(request)})]


async def dashboard(request: web.Request) -> web.Response:
    await require_role(request, ("admin",))
    parts: list[Part] = []
    for add in request.app[REGISTRY].admin_sections:
        parts.extend(await add(request))
    return await render(request, "admin.html", {"parts": sorted(parts, key=lambda part: part.order)})


async def _admin_form(request: web.Request):
    found = await require_role(request, ("admin",))
    form = await request.post()
    check_csrf(found, form)
    return form


async def retry_deliveries(request: web.Request) -> web.Response:
    """Dead deliveries queued again, due now (one by ``seq``, or all of them)."""
    form = await _admin_form(request)
    seq = form.get("seq", "all")
    now = to_epoch(request.app[CLOCK].now())
    every = seq == "all"
    chosen = int(seq) if isinstance(seq, str) and seq.isdigit() else -1
    async with request.app[DATABASE].transaction() as conn:
        await conn.execute(
            "UPDATE deliveries SET state = 'queued', next_attempt_at = ?, attempts = 0,"
            " finished_at = NULL WHERE state = 'dead' AND (? OR seq = ?)",
            (now, every, chosen),
        )
    request.app[DELIVERY_WORKER].wake()
    raise web.HTTPSeeOther("/admin#deliveries")


async def answer_follow(request: web.Request) -> web.Response:
    form = await _admin_form(request)
    answer, follow_id = form.get("answer"), form.get("follow")
    if answer not in ("Accept", "Reject") or not isinstance(follow_id, str):
        raise ApiError(400, N_("the form needs a follow request and Accept or Reject"))
    await submit(request.app, request.app[CONFIG].node.name, {"type": answer, "object": follow_id})
    raise web.HTTPSeeOther("/admin")


async def save_about(request: web.Request) -> web.Response:
    form = await _admin_form(request)
    text = form.get("summary", "")
    if not isinstance(text, str) or len(text) > 2000:
        raise ApiError(400, N_("the summary must be at most 2000 characters"))
    await settings.set_summary(request, text.strip())
    raise web.HTTPSeeOther("/admin")


def register_sections(registry) -> None:
    """The shell's own panels of the dashboard."""
    registry.admin_sections.extend([_about, _follow_requests, _delivery_health])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin", dashboard)
    app.router.add_post("/admin/deliveries/retry", retry_deliveries)
    app.router.add_post("/admin/follows", answer_follow)
    app.router.add_post("/admin/about", save_about)
