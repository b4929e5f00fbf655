"""The admin's bearer token: compared in constant time, never logged."""

from __future__ import annotations

import hmac

from aiohttp import web

from node.core.appkeys import CONFIG
from node.core.errors import ApiError


def is_admin(request: web.Request) -> bool:
    """Whether the request carries the admin's bearer token (the node's owner); False without a
    bearer token, and a wrong one is refused as :func:`require_admin` refuses it."""
    scheme, _, _ = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    require_admin(request)
    return True


def require_admin(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "this needs the admin token",
            hint="send Authorization: Bearer <[admin] token>",
            headers={"WWW-Authenticate": 'Bearer realm="chapterhouse"'},
        )
    expected = request.app[CONFIG].admin.token.encode()
    if not hmac.compare_digest(token.strip().encode(), expected):
        raise ApiError(403, "the admin token is wrong", hint="use the token from the node's config [admin] token")
