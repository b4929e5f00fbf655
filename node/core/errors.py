"""Every refusal is a JSON body that says what went wrong and what to do.

Handlers raise :class:`ApiError`; the middleware turns it, aiohttp's own HTTP errors (404,
405, 413 ...) and any unexpected exception into JSON. Only a fault of the node itself is a
500, and it is logged with an id the response repeats, never with request secrets.
"""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

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


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ApiError as error:
        return json_error(error.status, error.error, error.hint, error.headers)
    except web.HTTPException as error:
        if error.status < 400 or error.content_type == "application/json":
            raise
        headers = {k: v for k, v in error.headers.items() if k.lower() in ("allow", "retry-after")}
        return json_error(error.status, error.reason, _HINTS.get(error.status), headers)
    except Exception:
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", incident, request.method, request.path)
        return json_error(500, f"internal error {incident}", "this is a fault of the node; its log has the details")
