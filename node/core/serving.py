"""Serving ActivityPub documents: content negotiation, collection pages, signed GETs.

Shared by every room that serves JSON (the actors and objects of the web shell, the inbox's
GET, the content's ``replies`` / ``likes`` / ``shares``): ``application/activity+json`` or
``application/ld+json`` (with the AS profile) get JSON, a browser asking for ``text/html``
gets the page. Collections are ``OrderedCollection`` with a true ``totalItems`` and pages of
:data:`PAGE_SIZE`. With ``authorized_fetch`` a GET must be signed; a bad signature is a 401.
"""

from __future__ import annotations

from aiohttp import web

from federation import jsonio
from federation.signatures import SignatureError
from federation.verification import VerifiedSigner, verify_request
from node.core.appkeys import CLOCK, CONFIG, REMOTE_ACTORS, SIGNER, URLS
from node.core.errors import ApiError

PAGE_SIZE = 20
ACTIVITY_JSON = "application/activity+json"
LD_JSON = "application/ld+json"
AS_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and ACTIVITY_JSON not in accept and LD_JSON not in accept


def ap_response(request: web.Request, document: dict, *, status: int = 200) -> web.Response:
    accept = request.headers.get("Accept", "")
    content_type = AS_PROFILE if LD_JSON in accept and ACTIVITY_JSON not in accept else ACTIVITY_JSON
    return web.Response(
        body=jsonio.dumps(document),
        status=status,
        headers={"Content-Type": content_type, "Vary": "Accept, Signature, Signature-Input"},
    )


async def signer_of(request: web.Request) -> VerifiedSigner | None:
    """Who signed this GET, None when unsigned; a bad signature is a 401 (verified once per request)."""
    if SIGNER not in request:
        request[SIGNER] = await _verified_signer(request)
    return request[SIGNER]


async def _verified_signer(request: web.Request) -> VerifiedSigner | None:
    if (
        "Signature" not in request.headers
        and "Signature-Input" not in request.headers
        and not request.headers.get("Authorization", "").startswith("Signature")
    ):
        return None
    try:
        return await verify_request(
            request.app[REMOTE_ACTORS],
            method=request.method,
            target=request.raw_path,
            headers=request.headers,
            body=None,
            now=request.app[CLOCK].now(),
            expected_host=request.app[URLS].host,
        )
    except SignatureError as error:
        raise ApiError(401, f"signature refused: {error}", hint="sign GETs with a key your actor publishes") from None


async def require_signed_if_authorized_fetch(request: web.Request) -> VerifiedSigner | None:
    signer = await signer_of(request)
    if signer is None and request.app[CONFIG].federation.authorized_fetch:
        raise ApiError(
            401,
            "this node requires signed GET requests (authorized fetch)",
            hint="sign the request with draft-cavage or RFC 9421 HTTP signatures",
        )
    return signer


def page_number(request: web.Request) -> int | None:
    raw = request.query.get("page")
    if raw is None:
        return None
    if raw == "true":
        return 1
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1_000_000:
        raise ApiError(400, f"page must be a positive number, not {raw!r}")
    return int(raw)


def collection_document(
    collection_id: str, total: int, page: int | None, items: list, *, ordered_key: str = "orderedItems"
) -> dict:
    context = "https://www.w3.org/ns/activitystreams"
    if page is None:
        return {
            "@context": context,
            "id": collection_id,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": f"{collection_id}?page=1",
            "last": f"{collection_id}?page={max(1, -(-total // PAGE_SIZE))}",
        }
    document = {
        "@context": context,
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
    }
    if items:  # an empty array is left out, as in JSON-LD's compacted form
        document[ordered_key] = items
    if page * PAGE_SIZE < total:
        document["next"] = f"{collection_id}?page={page + 1}"
    if page > 1:
        document["prev"] = f"{collection_id}?page={page - 1}"
    return document


async def read_json_object(request: web.Request, *, accepted_types: tuple[str, ...]) -> tuple[bytes, dict]:
    """The request body as a JSON object; 415, 413 or 400 with the reason otherwise."""
    if request.content_type not in accepted_types:
        raise ApiError(
            415,
            f"content type {request.content_type or 'none'} is not accepted here",
            hint=f"send {' or '.join(accepted_types)}",
        )
    limit = request.app[CONFIG].federation.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"the body is {request.content_length} bytes; this node accepts at most {limit}")
    body = await request.read()  # the application's client_max_size caps a body without Content-Length
    try:
        document = jsonio.loads(body)
    except jsonio.JsonError as error:
        raise ApiError(400, str(error)) from None
    if not isinstance(document, dict):
        raise ApiError(400, "the body must be a JSON object (an activity)")
    return body, document
