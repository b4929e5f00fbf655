"""Membership pages: joining, signing in with a password, the admin's member list, one's own account.

- ``/join``: sign-up (username, display name, password) -> a local account with a
  ``requested`` membership; the page says it awaits an admin's approval.
- ``/login``: a member account signs in with its password (``/login/admin`` is for the
  admin token). Sign-in and sign-up are throttled (:mod:`node.membership.throttle`): past the limit the
  form answers 429 with ``Retry-After``, whatever the password.
- ``/admin/members`` (the admin, or a member with the role admin): pending requests with
  Approve / Refuse, active members with a role select and Remove. Every change is
  published through :func:`outbox.service.submit`, exactly as the client-to-server outbox
  would (``Add`` / ``Remove`` with the members collection as target), so it federates.
- ``/@{chapter}/members``: public; the member count and the newest members.
- ``/account``: the signed-in member's status and role, a Leave button, forms to change their
  display name and their password (the current one first), and what other rooms add
  (``registry.account_parts``: their posts, their votes with receipts).

Every form that changes something carries the session's CSRF token (403 without it); the
forms shown before signing in (join, sign-in) carry the form cookie's token
(:func:`node.membership.sessions.check_form_token`). A
refused form shows the reason on the page with the 4xx status; passwords are never logged
nor sent back into a page.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from aiohttp import web

from federation import jsonio
from node.core.appkeys import CLOCK, CONFIG, DATABASE, REGISTRY, REMOTE_ACTORS, URLS
from node.core.clock import from_epoch, iso, to_epoch
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.rendering import render
from node.membership import accounts, members
from node.membership.sessions import (
    check_csrf,
    check_form_token,
    render_form,
    require_role,
    require_viewer,
    safe_next,
    sign_in,
    viewer,
)
from node.membership.throttle import SIGN_IN_LIMITS
from outbox.service import submit

LIST_LIMIT = 100
NEWEST_LIMIT = 20
ADMIN_ACTIONS = ("approve", "refuse", "role", "remove")
ROLE_NAMES = {"admin": N_("admin"), "secretary": N_("secretary"), "member": N_("member")}


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def handle_from_id(actor_id: str, preferred: str | None = None) -> str:
    """``@user@host`` for a remote actor, without fetching anything: its ``preferredUsername`` when
    known, else the last segment of its id (``https://host/users/alice`` and ``https://host/@alice``
    give ``@alice@host``); just the host for an id without a path."""
    parts = urlsplit(actor_id)
    host = parts.netloc.rpartition("@")[2]
    if not host:
        return actor_id
    user = preferred or unquote(next((s for s in reversed(parts.path.split("/")) if s), "")).lstrip("@")
    return f"@{user}@{host}" if user else host


def remote_person(actor_id: str, document: dict | None) -> tuple[str, str]:
    """A remote member's name and handle: from their cached actor document when there is one (its
    ``name``, else its ``preferredUsername``), else the handle stands for the name too; never the
    raw actor URL."""
    document = document if isinstance(document, dict) else {}
    preferred = _text(document.get("preferredUsername"))
    handle = handle_from_id(actor_id, preferred)
    return _text(document.get("name")) or preferred or handle, handle


async def people(request: web.Request, rows) -> list[dict]:
    """Member rows as what a page shows: a name, a handle, the dates."""
    urls, reader = request.app[URLS], request.app[DATABASE].reader
    local = {row["actor_id"]: accounts.username_of_actor(urls, row["actor_id"]) for row in rows if row["is_local"]}
    names = await accounts.display_names(reader, [u for u in local.values() if u])
    people = []
    for row in rows:
        actor_id = row["actor_id"]
        username = local.get(actor_id)
        if username:
            name, handle = names.get(username, username), f"@{username}@{urls.host}"
        else:
            cached = await request.app[REMOTE_ACTORS].store.select_actor(reader, actor_id)
            name, handle = remote_person(actor_id, jsonio.loads(cached["data"]) if cached is not None else None)
        since = row["joined_at"] or row["requested_at"] or row["changed_at"]
        people.append(
            {
                "actor_id": actor_id,
                "name": str(name),
                "handle": handle,
                "role": row["role"],
                "state": row["state"],
                "local": bool(row["is_local"]),
                "since": iso(from_epoch(since)),
            }
        )
    return people


# --- joining and signing in -------------------------------------------------------------------


async def join_form(request: web.Request) -> web.Response:
    return await render_form(request, "join.html", {"error": None, "form": {}})


async def join(request: web.Request) -> web.Response:
    form = await request.post()
    check_form_token(request, form)
    fields = {name: form.get(name, "") for name in ("username", "display_name")}
    try:
        account = await accounts.sign_up(
            request.app,
            username=form.get("username"),
            display_name=form.get("display_name"),
            password=form.get("password"),
            admit=lambda: _admit_sign_up(request),
        )
    except ApiError as error:
        response = await render_form(request, "join.html", {"error": error.error, "form": fields}, status=error.status)
        response.headers.update(error.headers)
        return response
    return await render(request, "join_done.html", {"account": account}, status=201)


def _admit_sign_up(request: web.Request) -> None:
    wait = request.app[SIGN_IN_LIMITS].sign_up_wait(request)
    if wait is not None:
        raise ApiError(
            429,
            N_("Too many new accounts from this address. Try again in {wait} seconds.", wait=wait),
            headers={"Retry-After": str(wait)},
        )


def _too_many_attempts(wait: int) -> ApiError:
    return ApiError(
        429,
        N_("Too many sign-in attempts. Try again in {wait} seconds.", wait=wait),
        headers={"Retry-After": str(wait)},
    )


async def login_form(request: web.Request) -> web.Response:
    wanted = request.query.get("next")
    return await render_form(
        request,
        "login.html",
        {
            "error": None,
            "username": "",
            "next": safe_next(wanted or "/account"),
            "admin_next": safe_next(wanted or "/admin/members"),
        },
    )


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    check_form_token(request, form)
    next_path = safe_next(form.get("next") or "/account")
    given = form.get("username")
    username = given if isinstance(given, str) else ""
    context = {"username": username, "next": next_path, "admin_next": next_path}
    wait = request.app[SIGN_IN_LIMITS].sign_in_wait(request, username.strip()[:64])
    if wait is not None:
        error = _too_many_attempts(wait)
        response = await render_form(request, "login.html", {**context, "error": error.error}, status=429)
        response.headers.update(error.headers)
        return response
    account = await accounts.authenticate(request.app, form.get("username"), form.get("password"))
    if account is None:
        return await render_form(
            request, "login.html", {**context, "error": N_("Wrong username or password.")}, status=403
        )
    request.app[SIGN_IN_LIMITS].sign_in_succeeded(request, username.strip()[:64])
    response = web.HTTPSeeOther(next_path)
    current = await viewer(request)
    await sign_in(request, response, username=account.username, is_admin=bool(current and current.is_admin))
    raise response


# --- the admin's member list ------------------------------------------------------------------


async def _admin_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    chapter, reader = request.app[CONFIG].node.name, request.app[DATABASE].reader
    pending = await members.page_in_state(reader, chapter, state="requested", limit=LIST_LIMIT)
    active = await members.page_in_state(reader, chapter, state="active", limit=LIST_LIMIT)
    return await render(
        request,
        "admin_members.html",
        {
            "pending": await people(request, pending),
            "active": await people(request, active),
            "active_total": await members.count_in_state(reader, chapter, "active"),
            "roles": members.ROLES,
            "limit": LIST_LIMIT,
            "error": error,
            "role_names": ROLE_NAMES,
        },
        status=status,
    )


async def admin_members(request: web.Request) -> web.Response:
    await require_role(request, ("admin",))
    return await _admin_page(request)


def _admin_activity(request: web.Request, action: str, actor_id: str, role) -> dict:
    urls, chapter = request.app[URLS], request.app[CONFIG].node.name
    change = {"object": actor_id, "target": urls.members(chapter)}
    if action == "approve":
        return {"type": "Add", **change}
    if action == "role":
        if role not in members.ROLES:
            raise ApiError(400, N_("role must be one of {roles}", roles=", ".join(members.ROLES)))
        return {"type": "Add", **change, "role": role}
    return {"type": "Remove", **change}  # refuse (a request) or remove (a member)


async def admin_members_change(request: web.Request) -> web.Response:
    found = await require_role(request, ("admin",))
    form = await request.post()
    check_csrf(found, form)
    action, actor_id = form.get("action"), form.get("actor")
    try:
        if action not in ADMIN_ACTIONS:
            raise ApiError(400, N_("action must be one of {actions}", actions=", ".join(ADMIN_ACTIONS)))
        if not isinstance(actor_id, str) or not actor_id:
            raise ApiError(400, N_("the form names no member"))
        await submit(
            request.app, request.app[CONFIG].node.name, _admin_activity(request, action, actor_id, form.get("role"))
        )
    except ApiError as error:
        return await _admin_page(request, error=error.error, status=error.status)
    raise web.HTTPSeeOther(safe_next(form.get("next") if isinstance(form.get("next"), str) else "/admin/members"))


# --- public list and one's own account ----------------------------------------------------------


async def public_members(request: web.Request) -> web.Response:
    chapter, reader = request.app[CONFIG].node.name, request.app[DATABASE].reader
    if request.match_info.get("username", chapter) != chapter:
        raise ApiError(404, N_("no chapter named {name} here", name=request.match_info["username"]))
    newest = await members.page_in_state(reader, chapter, state="active", limit=NEWEST_LIMIT)
    return await render(
        request,
        "members.html",
        {"total": await members.count_in_state(reader, chapter, "active"), "newest": await people(request, newest)},
    )


async def account_page(request: web.Request, *, extra: dict | None = None, status: int = 200) -> web.Response:
    found = await require_viewer(request)
    if found.username is None:
        raise ApiError(403, N_("this page is for member accounts"), hint=N_("sign in with your password at /login"))
    reader, urls = request.app[DATABASE].reader, request.app[URLS]
    account = await accounts.get_account(reader, found.username)
    if account is None:
        raise ApiError(404, N_("this account no longer exists"))
    membership = await members.get_member(reader, request.app[CONFIG].node.name, urls.actor(account.username))
    parts = [part for add in request.app[REGISTRY].account_parts for part in await add(request, account.username)]
    return await render(
        request,
        "account.html",
        {
            "account": account,
            "membership": membership,
            "role_names": ROLE_NAMES,
            "member_handle": f"@{account.username}@{urls.host}",
            "parts": sorted(parts, key=lambda part: part.order),
            "changed": request.query.get("changed"),
            **(extra or {}),
        },
        status=status,
    )


async def _account_form(request: web.Request):
    found = await require_viewer(request)
    form = await request.post()
    check_csrf(found, form)
    if found.username is None:
        raise ApiError(403, N_("this page is for member accounts"), hint=N_("sign in with your password at /login"))
    return found.username, form


async def account_name(request: web.Request) -> web.Response:
    username, form = await _account_form(request)
    try:
        await accounts.change_display_name(request.app, username, form.get("display_name"))
    except ApiError as error:
        return await account_page(request, extra={"name_error": error.error}, status=error.status)
    raise web.HTTPSeeOther("/account?changed=name")


async def account_password(request: web.Request) -> web.Response:
    username, form = await _account_form(request)
    try:
        await accounts.change_password(request.app, username, form.get("current_password"), form.get("new_password"))
    except ApiError as error:
        return await account_page(request, extra={"password_error": error.error}, status=error.status)
    raise web.HTTPSeeOther("/account?changed=password")


async def account_leave(request: web.Request) -> web.Response:
    found = await require_viewer(request)
    form = await request.post()
    check_csrf(found, form)
    if found.username is None:
        raise ApiError(403, N_("only a member account can leave"), hint=N_("sign in with your password at /login"))
    now = to_epoch(request.app[CLOCK].now())
    async with request.app[DATABASE].transaction() as conn:
        left = await members.leave(conn, request.app[CONFIG].node.name, request.app[URLS].actor(found.username), now)
    if not left:
        raise ApiError(409, N_("you are not a member, nor waiting to be one"))
    raise web.HTTPSeeOther("/account")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/join", join_form)
    app.router.add_post("/join", join)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_get("/admin/members", admin_members)
    app.router.add_post("/admin/members", admin_members_change)
    app.router.add_get("/@{username}/members", public_members)
    app.router.add_get("/members", public_members)
    app.router.add_get("/account", account_page)
    app.router.add_post("/account/leave", account_leave)
    app.router.add_post("/account/name", account_name)
    app.router.add_post("/account/password", account_password)
