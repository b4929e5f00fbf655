"""Server-rendered pages: Jinja2 templates (autoescaped) from each room's ``templates`` folder, in the reader's
language.

:func:`setup` makes one Jinja2 environment per application over the folders the features
registered (``registry.template_dirs``, first registered first), with Jinja's i18n extension
whose ``_`` / ``gettext`` / ``ngettext`` read the reader's :class:`node.core.i18n.Language`
from the template's context, and filters that format for it: ``datetime``, ``date``,
``time``, ``number``, ``percent``, ``span`` (an event's time with its weekday, a range on one day
written once), and ``tr`` (a :class:`node.core.i18n.Message` from Python,
translated). The catalogs are compiled when the application is made (``LANGUAGES``).

``render`` passes every template the chapter, the URLs, the reader's language and the
languages to switch to, the navigation links the rooms registered (``registry.nav_links``),
and what the registry's ``page_context`` hooks add (the signed-in viewer with its CSRF
token for forms, from the membership room). Pages send a strict Content-Security-Policy:
styles and scripts only from the node's own ``/static`` files (one stylesheet, the theme
made from the config's colour, and a small progressive script for the copy buttons). A page
rendered for a signed-in viewer shows that person's data and CSRF token: it is sent with
``Cache-Control: private, no-store`` (:data:`PRIVATE`), so no shared cache (nor the browser's
back button after signing out) keeps it.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from node.core.appkeys import CONFIG, LANGUAGE, LANGUAGES, REGISTRY, URLS
from node.core.i18n import COOKIE, Formatter, Language, formatting_locale, load_languages, zone
from node.core.sanitize import clean_html

R = TypeVar("R", bound=web.StreamResponse)

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PRIVATE = "private, no-store"  # Cache-Control of every page that shows a signed-in person's data


@jinja2.pass_context
def _gettext(context, message: str) -> str:
    return context["language"].gettext(message)


@jinja2.pass_context
def _ngettext(context, singular: str, plural: str, n: int) -> str:
    return context["language"].ngettext(singular, plural, n)


def _formatting_filter(name: str):
    @jinja2.pass_context
    def apply(context, value):
        return getattr(context["fmt"], name)(value)

    return apply


@jinja2.pass_context
def _span(context, start, end=None) -> str:
    return context["fmt"].span(start, end)


@jinja2.pass_context
def _translate(context, message) -> str:
    return context["language"].gettext(message) if message else ""


def setup(app: web.Application) -> None:
    config = app[CONFIG]
    app[LANGUAGES] = load_languages(config.node.language)
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader([str(path) for path in app[REGISTRY].template_dirs]),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    # added to the Environment by the jinja2.ext.i18n extension at run time, unknown to its stubs
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["safe_html"] = lambda html: jinja2.utils.markupsafe.Markup(clean_html(html or ""))
    environment.filters["tr"] = _translate
    for name in ("datetime", "date", "time", "number", "percent"):
        environment.filters[name] = _formatting_filter(name)
    environment.filters["span"] = _span


def language_of(request: web.Request) -> Language:
    """The reader's language (the switcher's cookie, else Accept-Language), chosen once per request."""
    if LANGUAGE not in request:
        request[LANGUAGE] = request.app[LANGUAGES].negotiate(
            request.cookies.get(COOKIE), request.headers.get("Accept-Language")
        )
    return request[LANGUAGE]


def translate(request: web.Request, message: str) -> str:
    """A message from Python (a :class:`node.core.i18n.Message`, or a catalog msgid) in the reader's language."""
    return language_of(request).gettext(message)


def formatter(request: web.Request) -> Formatter:
    """Dates and numbers in the reader's language, by their own variant's conventions (en-GB: day-month)."""
    locale = formatting_locale(language_of(request), request.headers.get("Accept-Language"))
    return Formatter(locale, zone(request.app[CONFIG].node.timezone))


async def page_base(request: web.Request) -> dict:
    """What every page's template gets, before the page's own context."""
    config, registry, languages = request.app[CONFIG], request.app[REGISTRY], request.app[LANGUAGES]
    base: dict[str, Any] = {
        "chapter": config.node,
        "urls": request.app[URLS],
        "viewer": None,
        "handle": f"@{config.node.name}@{request.app[URLS].host}",
        "language": language_of(request),
        "languages": list(languages),
        "fmt": formatter(request),
        "here": quote(request.path_qs, safe="/"),
        "nav_links": sorted(registry.nav_links),
    }
    for add in registry.page_context:
        base.update(await add(request))
    return base


async def render(
    request: web.Request, template: str, context: dict | None = None, *, status: int = 200
) -> web.Response:
    base = await page_base(request)
    response = aiohttp_jinja2.render_template(template, request, {**base, **(context or {})}, status=status)
    if base.get("viewer") is not None:  # the page carries the viewer's name and CSRF token at least
        response.headers["Cache-Control"] = PRIVATE
    return secured(response, request)


def page_of(request: web.Request) -> int:
    """The ``?page=N`` of a paged list (1 when absent); 400 when it is not a page number."""
    from node.core.errors import ApiError  # errors render their pages through this module
    from node.core.i18n import N_

    raw = request.query.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise ApiError(400, N_("page must be a number from 1 to 10000"), hint=N_("for example ?page=2"))
    return int(raw)


def secured(response: R, request: web.Request) -> R:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Language"] = language_of(request).tag
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response
