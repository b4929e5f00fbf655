"""Every refusal says what went wrong and what to do: JSON for servers, an HTML page for browsers.

Handlers raise :class:`ApiError`; the middleware turns it, aiohttp's own HTTP errors (404,
405, 413 ...) and any unexpected exception into a JSON body, or, when the client asks for
``text/html`` before any JSON type (a browser), into an error page in the reader's language
(``error.html``: a title for the status, the reason translated when it was marked with
:func:`node.core.i18n.N_`, the hint, a 500's reference, and what to do next: back to the page
the browser came from on this site (the form, the poll), sign in when that is what is missing). Only a fault of the node itself
is a 500, and it is logged with an id the response repeats, never with request secrets.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit

from aiohttp import web

from node.core.i18n import N_
from node.core.rendering import render

log = logging.getLogger("chapterhouse.http")


class ApiError(Exception):
    def __init__(self, status: int, error: str, *, hint: str | None = None, headers: dict | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.hint = hint
        self.headers = headers or {}


def json_error(status: int, error: str, hint: str | None = None, headers: dict | None = None) -> web.Response:
    body = {"error": error}
    if hint:
        body["hint"] = hint
    return web.json_response(body, status=status, headers=headers)


_HINTS = {
    404: "check the address; ids are listed in the actor's collections",
    405: "see the Allow header for the methods this path accepts",
    413: "the body is larger than this node accepts ([federation] max_body_bytes)",
}


_PAGE_HINTS = {
    404: N_("Check the address, or start again from the home page."),
    405: N_("This address does not take that kind of request."),
    413: N_("What you sent is larger than this node accepts."),
}
JSON_TYPES = ("application/json", "application/activity+json", "application/ld+json")


def wants_html(request: web.Request) -> bool:
    """A browser: ``text/html`` accepted, and before any JSON type."""
    accept = request.headers.get("Accept", "").lower()
    html_at = accept.find("text/html")
    if html_at < 0:
        return False
    return not any(0 <= accept.find(kind) < html_at for kind in JSON_TYPES)


def _back(request: web.Request) -> str | None:
    """Where the browser came from on this site (the form that was refused), to offer a way back."""
    referer = request.headers.get("Referer", "")
    parts = urlsplit(referer)
    if not referer or parts.netloc != request.host or parts.path == request.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _refusal(
    request: web.Request, status: int, error: str, hint: str | None, headers: dict, incident: str | None = None
) -> web.Response:
    if wants_html(request):
        try:
            response = await render(
                request,
                "error.html",
                {"status": status, "reason": error, "hint": hint, "incident": incident, "back": _back(request)},
                status=status,
            )
        except Exception:  # the page itself failed (a broken database?): the JSON still says it
            log.exception("the error page for %s failed", status)
        else:
            response.headers.update(headers)
            return response
    return json_error(status, error, hint, headers)


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ApiError as error:
        return await _refusal(request, error.status, error.error, error.hint, error.headers)
    except web.HTTPException as error:
        if error.status < 400 or error.content_type == "application/json":
            raise
        headers = {k: v for k, v in error.headers.items() if k.lower() in ("allow", "retry-after")}
        if wants_html(request):
            return await _refusal(request, error.status, "", _PAGE_HINTS.get(error.status), headers)
        return json_error(error.status, error.reason, _HINTS.get(error.status), headers)
    except Exception:
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", incident, request.method, request.path)
        return await _refusal(
            request,
            500,
            N_("internal error {incident}", incident=incident),
            N_("This is a fault of the node; its log has the details."),
            {},
            incident,
        )
