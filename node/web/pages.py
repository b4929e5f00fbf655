"""The public pages of the shell: the chapter's home page, and one post.

A member's ``/@{username}`` is their page (:mod:`node.web.people`). The home page (``/``, and
``/@{chapter}``, where Mastodon links from the actor's ``url``) says
who the chapter is (its summary, and what ``profile_context`` hooks add, such as the tree
room's place and founding date), how to join and how to follow (the handle with a copy
button), then the rooms' sections (``registry.home_parts``: latest news, blogs, minutes,
upcoming events, open and closed polls, newest members), each given the ids already shown
so that no item appears twice. A browser asking for an object id gets its page. Admin
sign-in with the admin token lives here too (``/login/admin``).
"""

from __future__ import annotations

import hmac

from aiohttp import web

from node.core import objects
from node.core.appkeys import CONFIG, REGISTRY
from node.core.i18n import N_
from node.core.registry import Part
from node.core.rendering import render
from node.membership.sessions import check_csrf, check_form_token, render_form, safe_next, sign_in, sign_out, viewer
from node.membership.throttle import ADMIN_ACCOUNT, SIGN_IN_LIMITS
from node.web import people


async def home(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    shown: set[str] = set()
    parts: list[Part] = []
    for add_parts in registry.home_parts:
        parts.extend(await add_parts(request, shown))
    extra: dict = {}
    for add in registry.profile_context:  # e.g. the tree room's place and founding date
        extra.update(await add(request))
    return await render(request, "home.html", {"parts": sorted(parts, key=lambda part: part.order), **extra})


async def profile(request: web.Request) -> web.Response:
    """The chapter's ``/@name`` is its home page; a member's is their page (:mod:`node.web.people`)."""
    if request.match_info["username"] != request.app[CONFIG].node.name:
        return await people.person_page(request, request.match_info["username"])
    return await home(request)


async def object_page(request: web.Request, stored: objects.StoredObject) -> web.Response:
    """An object's page: its own page when a feature has one (a poll), else the features' parts on a generic one.

    Features add template context (``registry.object_page_context``: the thread and its counts, the
    minutes' structure, an event's answers), and may name templates to include (``post_template``,
    ``page_parts``).
    """
    registry = request.app[REGISTRY]
    own_page = registry.object_page_paths.get(stored.type)
    if own_page is not None:
        raise web.HTTPFound(own_page(stored.id, stored.data))
    extra: dict = {}
    for add in registry.object_page_context:
        extra.update(await add(request, stored))
    return await render(request, "object.html", {"post": stored.data, **extra})


async def admin_login_form(request: web.Request) -> web.Response:
    wanted = request.query.get("next")  # signing in as the admin lands on the dashboard unless told otherwise
    return await render_form(
        request, "login_admin.html", {"error": None, "next": safe_next(wanted) if wanted else "/admin"}
    )


async def admin_login(request: web.Request) -> web.Response:
    form = await request.post()
    check_form_token(request, form)
    token = form.get("token", "")
    expected = request.app[CONFIG].admin.token
    wait = request.app[SIGN_IN_LIMITS].sign_in_wait(request, ADMIN_ACCOUNT)
    if wait is not None:
        response = await render_form(
            request,
            "login_admin.html",
            {"error": f"Too many sign-in attempts. Try again in {wait} seconds.", "next": safe_next(form.get("next"))},
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected.encode()):
        return await render_form(
            request,
            "login_admin.html",
            {"error": N_("That is not the admin token."), "next": safe_next(form.get("next"))},
            status=403,
        )
    request.app[SIGN_IN_LIMITS].sign_in_succeeded(request, ADMIN_ACCOUNT)
    response = web.HTTPSeeOther(safe_next(form.get("next")))
    current = await viewer(request)
    await sign_in(request, response, username=current.username if current else None, is_admin=True)
    raise response


async def logout(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(await viewer(request), form)
    response = web.HTTPSeeOther("/")
    await sign_out(request, response)
    raise response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/@{username}", profile)
    app.router.add_get("/login/admin", admin_login_form)
    app.router.add_post("/login/admin", admin_login)
    app.router.add_post("/logout", logout)
