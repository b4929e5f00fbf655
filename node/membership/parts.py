"""Membership's parts of the shell's pages: the newest members on the home page, and the
admin dashboard's panel of requests waiting for approval (approve or refuse in place; roles
and removal on ``/admin/members``)."""

from __future__ import annotations

from aiohttp import web

from node.core.appkeys import CONFIG, DATABASE
from node.core.registry import Part
from node.membership import members
from node.membership.pages import people

HOME_NEWEST = 6
DASHBOARD_PENDING = 20


async def home_parts(request: web.Request, shown: set[str]) -> list[Part]:
    chapter, reader = request.app[CONFIG].node.name, request.app[DATABASE].reader
    newest = [
        person
        for person in await people(
            request, await members.page_in_state(reader, chapter, state="active", limit=HOME_NEWEST)
        )
        if person["actor_id"] not in shown
    ]
    shown.update(person["actor_id"] for person in newest)
    if not newest and request.app[CONFIG].node.level != "chapter":
        return []  # a region or the international without members of its own: its chapters have them
    return [
        Part(
            70,
            "home_members.html",
            {"newest": newest, "total": await members.count_in_state(reader, chapter, "active")},
        )
    ]


async def admin_sections(request: web.Request) -> list[Part]:
    chapter, reader = request.app[CONFIG].node.name, request.app[DATABASE].reader
    pending = await members.page_in_state(reader, chapter, state="requested", limit=DASHBOARD_PENDING)
    return [
        Part(
            10,
            "admin_membership.html",
            {
                "pending": await people(request, pending),
                "pending_total": await members.count_in_state(reader, chapter, "requested"),
                "active_total": await members.count_in_state(reader, chapter, "active"),
            },
            wide=True,
        )
    ]
