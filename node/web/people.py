"""A member's page, ``/@<username>``: who they are here and what they wrote and signed.

For a local account (a member who signed up on this node's pages, or any account it holds) the
page shows the display name, when they joined, their public blog posts and the posts they signed;
authors' and signatories' names elsewhere on the site link here. The chapter's own ``/@<name>``
stays its home page. Nothing private is shown: only public posts, and no e-mail, no role.
"""

from __future__ import annotations

from aiohttp import web

from node.content import participation, posts
from node.core.appkeys import CONFIG, DATABASE, URLS
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.rendering import render
from node.membership import accounts, members

SHOWN = 50


async def person_page(request: web.Request, username: str) -> web.Response:
    reader, urls = request.app[DATABASE].reader, request.app[URLS]
    account = await accounts.get_account(reader, username)
    if account is None:
        raise ApiError(
            404,
            N_("no member named {name} here", name=username),
            hint=N_("The members' list has everyone's page."),
        )
    actor_id = urls.actor(username)
    membership = await members.get_member(reader, request.app[CONFIG].node.name, actor_id)
    active = membership is not None and membership["state"] == "active"
    return await render(
        request,
        "person.html",
        {
            "person": account,
            "person_handle": f"@{username}@{urls.host}",
            "member": active,
            "blog": await posts.recent_public(reader, username, "blog", limit=SHOWN),
            "signed": await participation.signed_by(reader, actor_id, limit=SHOWN),
        },
    )
