"""Who is looking at a page: server-side sessions behind an opaque cookie, and CSRF tokens.

The cookie holds a random token; the database keeps only its SHA-256, so a copy of the
database does not let anyone sign in. Cookies are ``HttpOnly`` and ``SameSite=Lax``, and
``Secure`` when ``base_url`` is https. Every form that changes something carries the
session's CSRF token, checked in constant time by :func:`check_csrf`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import aiosqlite
from aiohttp import web

from node.core.appkeys import CLOCK, CONFIG, DATABASE, VIEWER
from node.core.clock import to_epoch
from node.core.db import fetch_one
from node.core.errors import ApiError
from node.core.i18n import N_

COOKIE = "chapterhouse_session"
LIFETIME_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: a local account (``username``), the admin, or both."""

    username: str | None
    is_admin: bool
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def insert_session(conn: aiosqlite.Connection, *, token_hash: str, username: str | None, is_admin: bool,
                         csrf_token: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_hash, username, is_admin, csrf_token, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (token_hash, username, int(is_admin), csrf_token, now, now + LIFETIME_SECONDS),
    )


async def select_session(conn: aiosqlite.Connection, token_hash: str, now: float):
    return await fetch_one(conn, "SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?", (token_hash, now))


async def delete_session(conn: aiosqlite.Connection, token_hash: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def delete_sessions_of(conn: aiosqlite.Connection, username: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE username = ?", (username,))


async def sign_in(request: web.Request, response: web.StreamResponse, *, username: str | None, is_admin: bool) -> None:
    """Open a session and set its cookie on ``response``."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = to_epoch(request.app[CLOCK].now())
    async with request.app[DATABASE].transaction() as conn:
        await insert_session(conn, token_hash=_hash(token), username=username, is_admin=is_admin, csrf_token=csrf,
                             now=now)
    secure = request.app[CONFIG].node.base_url.startswith("https://")
    response.set_cookie(COOKIE, token, max_age=LIFETIME_SECONDS, httponly=True, samesite="Lax", secure=secure, path="/")


async def sign_out(request: web.Request, response: web.StreamResponse) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        async with request.app[DATABASE].transaction() as conn:
            await delete_session(conn, _hash(token))
    response.del_cookie(COOKIE, path="/")


async def viewer(request: web.Request) -> Viewer | None:
    """The signed-in person, or None; looked up once per request."""
    if VIEWER in request:
        return request[VIEWER]
    found = None
    token = request.cookies.get(COOKIE)
    if token and len(token) < 200:
        row = await select_session(request.app[DATABASE].reader, _hash(token), to_epoch(request.app[CLOCK].now()))
        if row is not None:
            found = Viewer(username=row["username"], is_admin=bool(row["is_admin"]), csrf_token=row["csrf_token"])
    request[VIEWER] = found
    return found


def check_csrf(found: Viewer | None, form) -> None:
    sent = form.get("csrf_token", "") if form is not None else ""
    if found is None or not isinstance(sent, str) or not hmac.compare_digest(sent, found.csrf_token):
        raise ApiError(403, N_("the form's CSRF token is missing or stale"), hint=N_("reload the page and submit again"))


async def require_viewer(request: web.Request) -> Viewer:
    found = await viewer(request)
    if found is None:
        raise web.HTTPSeeOther(f"/login?next={request.path}")
    return found


async def viewer_role(request: web.Request) -> str | None:
    """'admin' for an admin session, else the signed-in account's active member role, else None."""
    from node.core.appkeys import URLS
    from node.membership.members import role_of

    found = await viewer(request)
    if found is None:
        return None
    if found.is_admin:
        return "admin"
    if found.username is None:
        return None
    chapter = request.app[CONFIG].node.name
    return await role_of(request.app[DATABASE].reader, chapter, request.app[URLS].actor(found.username))


async def active_member_actor(request: web.Request) -> str | None:
    """The actor id of the signed-in local account, if it is an active member of the chapter."""
    from node.core.appkeys import URLS
    from node.membership.members import is_active_member

    found = await viewer(request)
    if found is None or found.username is None:
        return None
    actor_id = request.app[URLS].actor(found.username)
    chapter = request.app[CONFIG].node.name
    return actor_id if await is_active_member(request.app[DATABASE].reader, chapter, actor_id) else None


async def require_role(request: web.Request, roles: tuple[str, ...]) -> Viewer:
    """The signed-in viewer, if their role is one of ``roles``; 403 otherwise."""
    found = await require_viewer(request)
    role = await viewer_role(request)
    if role not in roles:
        raise ApiError(403, N_("this needs the role {roles}", roles=" or ".join(roles)), hint=N_("ask the chapter's admin"))
    return found


async def require_admin_session(request: web.Request) -> Viewer:
    found = await require_viewer(request)
    if not found.is_admin:
        raise ApiError(403, N_("this page is for the chapter's admin"),
                       hint=N_("sign in with the admin token at /login/admin"))
    return found


def safe_next(value: str | None) -> str:
    """Only same-site paths: never redirect a signed-in person elsewhere."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
