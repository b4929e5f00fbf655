"""Who is looking at a page: server-side sessions behind an opaque cookie, and CSRF tokens.

The cookie holds a random token; the database keeps only its SHA-256, so a copy of the
database does not let anyone sign in. Cookies are ``HttpOnly`` and ``SameSite=Lax``, and
``Secure`` when ``base_url`` is https. Every form that changes something carries the
session's CSRF token, checked in constant time by :func:`check_csrf`.

The forms used before there is a session (``/login``, ``/login/admin``, ``/join``) carry a
token too: a random value in a ``SameSite=Strict`` cookie, repeated in the form, compared in
constant time by :func:`check_form_token` (a double-submit cookie: another site can neither
read it nor send it), so no other site can sign someone in, or up, behind their back.

An admin session keeps a tag of the ``[admin] token`` it was opened with (a SHA-256 of it
under a fixed label, never the token). It acts as the admin only while the configured token
still has that tag: rotating the token ends every admin session made with the old one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from node.core.appkeys import CLOCK, CONFIG, DATABASE
from node.core.clock import to_epoch
from node.core.db import Connection, Store, fetch_one
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.rendering import render

COOKIE = "chapterhouse_session"
FORM_COOKIE = "chapterhouse_form"  # the CSRF token of the forms shown before signing in
LIFETIME_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: a local account (``username``), the admin, or both."""

    username: str | None
    is_admin: bool
    csrf_token: str


VIEWER: web.RequestKey[Viewer | None] = web.RequestKey("viewer")  # who is signed in, looked up once a request


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def admin_token_tag(admin_token: str) -> str:
    """What an admin session remembers of the admin token it was opened with."""
    return hashlib.sha256(b"chapterhouse admin session\0" + admin_token.encode()).hexdigest()


async def insert_session(
    conn: Connection,
    *,
    token_hash: str,
    username: str | None,
    is_admin: bool,
    csrf_token: str,
    now: float,
    admin_tag: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_hash, username, is_admin, csrf_token, created_at, expires_at, admin_token_tag)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_hash, username, int(is_admin), csrf_token, now, now + LIFETIME_SECONDS, admin_tag if is_admin else None),
    )


async def select_session(conn: Connection, token_hash: str, now: float):
    return await fetch_one(conn, "SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?", (token_hash, now))


async def delete_session(conn: Connection, token_hash: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def delete_sessions_of(conn: Connection, username: str) -> None:
    await conn.execute("DELETE FROM sessions WHERE username = ?", (username,))


async def sign_in(request: web.Request, response: web.StreamResponse, *, username: str | None, is_admin: bool) -> None:
    """Open a session and set its cookie on ``response``."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = to_epoch(request.app[CLOCK].now())
    async with request.app[DATABASE].transaction() as conn:
        await insert_session(
            conn,
            token_hash=_hash(token),
            username=username,
            is_admin=is_admin,
            csrf_token=csrf,
            now=now,
            admin_tag=admin_token_tag(request.app[CONFIG].admin.token),
        )
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
            is_admin = bool(row["is_admin"]) and _made_with_current_token(request, row["admin_token_tag"])
            found = Viewer(username=row["username"], is_admin=is_admin, csrf_token=row["csrf_token"])
    request[VIEWER] = found
    return found


def _made_with_current_token(request: web.Request, tag: str | None) -> bool:
    current = admin_token_tag(request.app[CONFIG].admin.token)
    return isinstance(tag, str) and hmac.compare_digest(tag, current)


def check_csrf(found: Viewer | None, form) -> None:
    sent = form.get("csrf_token", "") if form is not None else ""
    if found is None or not isinstance(sent, str) or not hmac.compare_digest(sent, found.csrf_token):
        raise ApiError(
            403, N_("the form's CSRF token is missing or stale"), hint=N_("reload the page and submit again")
        )


def form_token(request: web.Request) -> str:
    """The CSRF token for a sign-in or join form: the browser's, or a new one."""
    token = request.cookies.get(FORM_COOKIE, "")
    if 20 <= len(token) <= 100 and token.isascii() and token.replace("-", "").replace("_", "").isalnum():
        return token
    return secrets.token_urlsafe(24)


def set_form_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    secure = request.app[CONFIG].node.base_url.startswith("https://")
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="Strict", secure=secure, path="/")


def check_form_token(request: web.Request, form) -> None:
    """The form's token must be the one in the browser's form cookie (403 otherwise)."""
    sent = form.get("csrf_token", "") if form is not None else ""
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise ApiError(
            403, N_("the form's CSRF token is missing or stale"), hint=N_("reload the page and submit again")
        )


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
        raise ApiError(
            403, N_("this needs the role {roles}", roles=" or ".join(roles)), hint=N_("ask the chapter's admin")
        )
    return found


async def require_admin_session(request: web.Request) -> Viewer:
    found = await require_viewer(request)
    if not found.is_admin:
        raise ApiError(
            403, N_("this page is for the chapter's admin"), hint=N_("sign in with the admin token at /login/admin")
        )
    return found


_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))


def safe_next(value: object) -> str:
    r"""Only same-site paths: never redirect a signed-in person elsewhere.

    The value is read as a browser reads a URL (leading and trailing controls and spaces
    dropped, tabs and newlines removed anywhere, backslashes taken as slashes), so that
    ``/\t/host/path`` or ``/\\host`` cannot become ``//host/path``; what is left must be a path.
    """
    if not isinstance(value, str):
        return "/"
    path = value.strip(_C0_AND_SPACE).replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    if not path.startswith("/") or path.startswith("//") or any(ch < " " or ch == "\x7f" for ch in path):
        return "/"
    parts = urlsplit(path)
    return path if not parts.scheme and not parts.netloc else "/"


async def render_form(
    request: web.Request, template: str, context: dict | None = None, *, status: int = 200
) -> web.Response:
    """A page with a sign-in or join form, its CSRF token in the form and in the cookie."""
    token = form_token(request)
    response = await render(request, template, {**(context or {}), "form_token": token}, status=status)
    set_form_cookie(request, response, token)
    return response


async def prune_expired(db: Store, now: float, batch: int, pause: float) -> int:
    """Delete expired sessions, ``batch`` at a time (by the expiry index); a step of
    :mod:`node.core.retention`. An expired session is never read again (:func:`select_session`)."""
    deleted = 0
    while True:
        count = await db.write_statement(
            "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= ? LIMIT ?)",
            (now, batch),
        )
        deleted += count
        if count < batch:
            return deleted
        await asyncio.sleep(pause)
