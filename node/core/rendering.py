"""Server-rendered pages: Jinja2 templates (autoescaped) from each room's ``templates`` folder.

:func:`setup` makes one Jinja2 environment per application over the folders the features
registered (``registry.template_dirs``, first registered first). ``render`` passes every
template the chapter, the URLs, and what the registry's ``page_context`` hooks add (the
signed-in viewer with its CSRF token for forms, from the membership room). Pages send a
strict Content-Security-Policy: no scripts at all.
"""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from node.core.appkeys import CONFIG, REGISTRY, URLS
from node.core.sanitize import clean_html

CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src https: data:; form-action 'self'; base-uri 'none'"


def setup(app: web.Application) -> None:
    environment = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader([str(path) for path in app[REGISTRY].template_dirs]), autoescape=jinja2.select_autoescape(default=True),
    )
    environment.filters["safe_html"] = lambda html: jinja2.utils.markupsafe.Markup(clean_html(html or ""))


async def render(request: web.Request, template: str, context: dict | None = None, *, status: int = 200) -> web.Response:
    config = request.app[CONFIG]
    base = {"chapter": config.node, "urls": request.app[URLS], "viewer": None,
            "handle": f"@{config.node.name}@{request.app[URLS].host}"}
    for add in request.app[REGISTRY].page_context:
        base.update(await add(request))
    response = aiohttp_jinja2.render_template(template, request, {**base, **(context or {})}, status=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    return response
