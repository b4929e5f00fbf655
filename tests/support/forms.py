"""Filling in the node's pages' forms as a browser does: keep cookies, send the form's CSRF token."""

from __future__ import annotations

import aiohttp

from tests.support.nodes import RunningNode


def browser_like_session() -> aiohttp.ClientSession:
    """Keeps cookies, even from a loopback IP address (as a browser does)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def form_token(page: str, action: str | None = None) -> str:
    """The CSRF token of the form posting to ``action`` (else of the first form), "" when none."""
    if action is not None:
        page = page.split(f'action="{action}"', 1)[1] if f'action="{action}"' in page else ""
    marker = 'name="csrf_token" value="'
    return page.split(marker, 1)[1].split('"', 1)[0] if marker in page else ""


async def post_form(
    session: aiohttp.ClientSession, node: RunningNode, path: str, data: dict, *, allow_redirects: bool = True
) -> tuple[int, str, dict]:
    """GET the form's page (for its token and cookie), then POST ``data``; status, text, headers."""
    async with session.get(f"{node.base_url}{path}") as response:
        token = form_token(await response.text(), path)
    async with session.post(
        f"{node.base_url}{path}", data={"csrf_token": token, **data}, allow_redirects=allow_redirects
    ) as response:
        return response.status, await response.text(), dict(response.headers)
