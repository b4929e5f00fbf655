"""Moderation on the admin dashboard: the blocks (add a domain or an actor, lift a block) and the reports.

``admin_sections`` adds one panel; ``POST /admin/moderation`` (an admin's session, CSRF-checked)
blocks or unblocks with the same :func:`node.moderation.admin_api.apply_block` as the JSON API,
so every relation with a blocked party is dropped at once.
"""

from __future__ import annotations

from aiohttp import web

from federation import jsonio
from node.core.appkeys import DATABASE
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Part
from node.membership.sessions import check_csrf, require_role
from node.moderation import blocks, reports
from node.moderation.admin_api import _target, apply_block, blocks_changed

REPORTS_SHOWN = 50


async def admin_sections(request: web.Request) -> list[Part]:
    reader = request.app[DATABASE].reader
    found = [
        {**dict(row), "targets": jsonio.loads(row["targets"])}
        for row in await reports.all_reports(reader, limit=REPORTS_SHOWN)
    ]
    return [Part(30, "admin_moderation.html", {"blocks": await blocks.all_blocks(reader), "reports": found}, wide=True)]


async def moderate(request: web.Request) -> web.Response:
    found = await require_role(request, ("admin",))
    form = await request.post()
    check_csrf(found, form)
    kind = form.get("kind")
    target = {"domain": form.get("value")} if kind == "domain" else {"actor": form.get("value")}
    kind, value = _target({k: v.strip() if isinstance(v, str) else v for k, v in target.items()})
    if form.get("action") == "unblock":
        async with request.app[DATABASE].transaction() as conn:
            await blocks.delete_block(conn, kind=kind, value=value)
        await blocks_changed(request.app)
    elif form.get("action") == "block":
        reason = form.get("reason", "")
        await apply_block(request.app, kind=kind, value=value, reason=reason if isinstance(reason, str) else "")
    else:
        raise ApiError(400, N_("action must be block or unblock"))
    raise web.HTTPSeeOther("/admin#moderation")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/moderation", moderate)
