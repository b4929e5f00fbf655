"""The site's furniture: the stylesheet and script, the theme made from the config, the language switcher.

- ``/static/site.css`` and ``/static/site.js``: the one stylesheet and the one (progressive)
  script, served from ``node/web/static`` (no build step).
- ``/static/theme.css``: the chapter's colour (``[node] colour``) as the ``--accent``
  custom property, so the Content-Security-Policy needs no inline style.
- ``/language/{code}?next=/path``: remembers the reader's choice in a cookie for a year and
  returns to the page; without the cookie, pages follow ``Accept-Language``.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.core.appkeys import CONFIG, LANGUAGES
from node.core.errors import ApiError
from node.core.i18n import COOKIE, N_
from node.membership.sessions import safe_next

STATIC = Path(__file__).parent / "static"
ONE_YEAR = 365 * 24 * 3600


async def theme(request: web.Request) -> web.Response:
    colour = request.app[CONFIG].node.colour  # checked as #rrggbb when the config was read
    return web.Response(
        text=f":root {{ --accent: {colour}; }}\n",
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def choose_language(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if request.app[LANGUAGES].get(code) is None:
        raise ApiError(
            404,
            N_("this node has no pages in {code}", code=code),
            hint=N_("languages: {codes}", codes=", ".join(known.code for known in request.app[LANGUAGES])),
        )
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    secure = request.app[CONFIG].node.base_url.startswith("https://")
    response.set_cookie(COOKIE, code, max_age=ONE_YEAR, samesite="Lax", secure=secure, path="/", httponly=True)
    raise response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/static/theme.css", theme)
    app.router.add_static("/static", STATIC, append_version=False)
    app.router.add_get("/language/{code}", choose_language)
