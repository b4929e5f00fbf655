"""Server-rendered pages: Jinja2 templates (autoescaped) from ``node/templates``.

``render`` passes every template the chapter, the URLs and the signed-in viewer (with its
CSRF token for forms); ``render_form`` also gives a form shown before signing in its token
(``form_token``, kept in a cookie: see :mod:`node.sessions`). Pages send a strict Content-Security-Policy: no scripts at all.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from node.appkeys import CONFIG, URLS
from node.sanitize import clean_html
from node.sessions import form_token, set_form_cookie, viewer

TEMPLATES = Path(__file__).parent / "templates"
CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src https: data:; form-action 'self'; base-uri 'none'"


def setup(app: web.Application) -> None:
    environment = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(default=True),
    )
    environment.filters["safe_html"] = lambda html: jinja2.utils.markupsafe.Markup(clean_html(html or ""))


async def render(request: web.Request, template: str, context: dict | None = None, *, status: int = 200) -> web.Response:
    config = request.app[CONFIG]
    base = {"chapter": config.node, "urls": request.app[URLS], "viewer": await viewer(request),
            "handle": f"@{config.node.name}@{request.app[URLS].host}"}
    response = aiohttp_jinja2.render_template(template, request, {**base, **(context or {})}, status=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    return response


async def render_form(request: web.Request, template: str, context: dict | None = None, *,
                      status: int = 200) -> web.Response:
    """A page with a sign-in or join form, its CSRF token in the form and in the cookie."""
    token = form_token(request)
    response = await render(request, template, {**(context or {}), "form_token": token}, status=status)
    set_form_cookie(request, response, token)
    return response
