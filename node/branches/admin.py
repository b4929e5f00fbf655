"""The tree on the admin's dashboard: this node's parent link and its children, with the answers.

One ``admin_sections`` panel: the parent (pending, linked or refused, with a Leave button while
linked), link requests waiting for the admin (Accept or Reject), linked children (Remove), and
refused ones with the reason; each branch by its display name and place (``names``), its
actor id kept for the admin in a ``title``. ``POST /admin/tree`` (an admin, CSRF-checked) publishes what the
client-to-server API would: ``Join`` of a parent (its actor id), ``Leave``, ``Accept`` /
``Reject`` of a child's Join, ``Remove`` of a child from the children collection; refusals
the rules make come back as the 4xx the outbox answers.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.branches import link_store, names, paths
from node.core.appkeys import CONFIG, DATABASE, URLS
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Part
from node.membership.sessions import check_csrf, require_role
from outbox.service import submit

PANEL_ORDER = 12  # after the summary, before follow requests


async def admin_sections(request: web.Request) -> list[Part]:
    reader = request.app[DATABASE].reader
    context: dict[str, Any] = {
        state: await link_store.children_in_state(reader, state) for state in ("pending", "linked", "refused")
    }
    context["parent"] = await link_store.latest_parent(reader)
    shown = [link.peer_id for state in ("pending", "linked", "refused") for link in context[state]]
    context["names"] = await names.names_of(reader, [*shown, context["parent"].peer_id if context["parent"] else None])
    return [Part(PANEL_ORDER, "admin_tree.html", context)]


def _activity(form, children: str) -> dict:
    action, target = form.get("action"), form.get("target")
    if not isinstance(target, str) or not target.strip():
        raise ApiError(400, N_("the form names no branch"))
    if action == "link":
        return {"type": "Join", "object": target.strip()}
    if action == "leave":
        return {"type": "Leave", "object": target}
    if action in ("accept", "reject"):
        return {"type": action.title(), "object": target}
    if action == "remove":
        return {"type": "Remove", "object": target, "target": children}
    raise ApiError(400, N_("unknown action on the branch tree"), hint=N_("link, leave, accept, reject or remove"))


async def answer(request: web.Request) -> web.Response:
    found = await require_role(request, ("admin",))
    form = await request.post()
    check_csrf(found, form)
    chapter, urls = request.app[CONFIG].node.name, request.app[URLS]
    await submit(request.app, chapter, _activity(form, paths.children(urls, chapter)))
    raise web.HTTPSeeOther("/admin#branches")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/tree", answer)
