"""The ActivityPub read side: actors, their collections, and every published object.

Content negotiation: ``application/activity+json`` or ``application/ld+json`` (with the AS
profile) get JSON, a browser asking for ``text/html`` gets the page, anything else gets
JSON. Collections (the chapter's ``members`` too) are ``OrderedCollection`` with a true
``totalItems`` and pages of ``PAGE_SIZE``; member accounts are ``Person`` actors here too.
Deleted objects answer 410 with their Tombstone. The owner (the admin's bearer token) reads
every activity and object the node published, with its ``bto`` / ``bcc``, which nobody else
sees. Empty arrays are left out of what is served (as in JSON-LD's compacted form): an empty
collection page has no ``orderedItems``. Objects that are not public are served only
(at their own URL and in every collection, ``featured`` too) to a signed GET from an actor
they are addressed to (or, for followers-only posts, from an
accepted follower; for members-only posts, from an active member); with ``authorized_fetch``
every actor and object needs a signed GET (the instance actor excepted, so that others can
verify our own signed fetches).
"""

from __future__ import annotations

from aiohttp import web

from node.content.views import served_document
from node.core import follows, objects
from node.core.actors import chapter_document, instance_document, person_document
from node.core.appkeys import CLOCK, CONFIG, DATABASE, KEYRING, REGISTRY, URLS
from node.core.auth import is_admin
from node.core.clock import from_epoch
from node.core.errors import ApiError
from node.core.keys import first_key_created_at, public_keys
from node.core.serving import (
    PAGE_SIZE,
    ap_response,
    collection_document,
    page_number,
    require_signed_if_authorized_fetch,
    signer_of,
    wants_html,
)
from node.core.urls import INSTANCE_USERNAME
from node.membership import accounts, members
from node.web import pages


async def _username(request: web.Request, *, accounts_too: bool = True) -> str:
    """The local actor named in the path: the chapter, the instance actor, or a member account."""
    username = request.match_info.get("username", INSTANCE_USERNAME)
    if username in (request.app[CONFIG].node.name, INSTANCE_USERNAME):
        return username
    if accounts_too and await accounts.federated_account_username(
        request.app[DATABASE].reader, request.app[URLS], request.app[URLS].actor(username)
    ):
        return username
    raise ApiError(
        404, f"no actor named {username} here", hint=f"this node's chapter is {request.app[CONFIG].node.name}"
    )


async def _actor_published(request: web.Request, username: str):
    created = await first_key_created_at(request.app[DATABASE].reader, username)
    return from_epoch(created) if created else request.app[CLOCK].now()


async def actor(request: web.Request) -> web.StreamResponse:
    username = await _username(request)
    config = request.app[CONFIG]
    is_account = username not in (config.node.name, INSTANCE_USERNAME)
    if wants_html(request) and username != INSTANCE_USERNAME:
        raise web.HTTPFound(f"/@{config.node.name}/members" if is_account else request.app[URLS].profile(username))
    if username != INSTANCE_USERNAME:
        await require_signed_if_authorized_fetch(request)
    urls, keyring = request.app[URLS], request.app[KEYRING]
    published = await _actor_published(request, username)
    if is_account:
        return ap_response(request, await _person(request, username, published))
    if username == INSTANCE_USERNAME:
        return ap_response(request, instance_document(config, urls, keyring, published=published))
    document = chapter_document(config, urls, keyring, published=published)
    for add in request.app[REGISTRY].actor_additions:  # the rooms' parts (the branch tree's children, parent)
        document.update(await add(request.app))
    return ap_response(request, document)


async def _person(request: web.Request, username: str, published) -> dict:
    reader = request.app[DATABASE].reader
    account, public = await accounts.get_account(reader, username), await public_keys(reader, username)
    if account is None or public is None:
        raise ApiError(404, f"no actor named {username} here")
    return person_document(
        request.app[URLS],
        username=username,
        display_name=account.display_name,
        rsa_public_pem=public[0],
        ed25519_public=public[1],
        published=published,
    )


async def _actor_id_collection(request: web.Request, url_of, count, page_of) -> web.Response:
    """A paged collection of actor ids (followers, following): its count and one page."""
    username = await _username(request)
    await require_signed_if_authorized_fetch(request)
    db = request.app[DATABASE]
    page = page_number(request)
    total = await count(db.reader, username)
    items = [] if page is None else await page_of(db.reader, username, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return ap_response(request, collection_document(url_of(username), total, page, items))


async def followers_collection(request: web.Request) -> web.Response:
    return await _actor_id_collection(
        request, request.app[URLS].followers, follows.count_followers, follows.page_followers
    )


async def following_collection(request: web.Request) -> web.Response:
    return await _actor_id_collection(
        request, request.app[URLS].following, follows.count_following, follows.page_following
    )


async def outbox_collection(request: web.Request) -> web.Response:
    username = await _username(request)
    await require_signed_if_authorized_fetch(request)
    db, urls = request.app[DATABASE], request.app[URLS]
    page = page_number(request)
    total = await objects.count_outbox(db.reader, username)
    items = []
    if page is not None:
        rows = await objects.page_outbox(db.reader, username, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        items = [row.data for row in rows]
    return ap_response(request, collection_document(urls.outbox(username), total, page, items))


async def featured_collection(request: web.Request) -> web.Response:
    username = await _username(request)
    await require_signed_if_authorized_fetch(request)
    db, urls = request.app[DATABASE], request.app[URLS]
    items = [
        stored.data for stored in await objects.featured_stored(db.reader, username) if await _may_see(request, stored)
    ]  # each pin served only to whom may see the object itself
    document = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": urls.featured(username),
        "type": "OrderedCollection",
        "totalItems": len(items),
    }
    if items:
        document["orderedItems"] = items
    return ap_response(request, document)


async def members_collection(request: web.Request) -> web.Response:
    """The chapter's active members (node/membership/members.py), newest first."""
    username = await _username(request, accounts_too=False)
    if username == INSTANCE_USERNAME:
        raise ApiError(404, "the server actor has no members")
    await require_signed_if_authorized_fetch(request)
    db, urls = request.app[DATABASE], request.app[URLS]
    page = page_number(request)
    total = await members.count_in_state(db.reader, username, "active")
    items = (
        []
        if page is None
        else await members.page_ids_in_state(
            db.reader, username, state="active", offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    )
    return ap_response(request, collection_document(urls.members(username), total, page, items))


async def _may_see(request: web.Request, stored: objects.StoredObject) -> bool:
    if stored.visibility in ("public", "unlisted"):
        if request.app[CONFIG].federation.authorized_fetch:
            return await require_signed_if_authorized_fetch(request) is not None  # unsigned: 401, as for actors
        return True
    signer = await signer_of(request)
    if signer is None:
        return False
    if signer.actor_id in stored.addressed_to():
        return True
    if stored.visibility == "followers":
        follower = await follows.get_follower(request.app[DATABASE].reader, stored.author, signer.actor_id)
        return follower is not None and follower["state"] == "accepted"
    if stored.visibility == "members":
        return await members.is_active_member(request.app[DATABASE].reader, stored.author, signer.actor_id)
    return False


async def published_object(request: web.Request) -> web.StreamResponse:
    urls = request.app[URLS]
    object_id = urls.base + request.path
    stored = await objects.get(request.app[DATABASE].reader, object_id)
    if stored is None:
        raise ApiError(404, f"nothing was published at {object_id}")
    if stored.deleted is not None:
        return ap_response(request, stored.data, status=410)
    owner = is_admin(request)
    if not owner and not await _may_see(request, stored):
        raise ApiError(
            404,
            f"nothing was published at {object_id}",
            hint="objects that are not public are served only to signed requests from their audience",
        )
    if wants_html(request):
        return await pages.object_page(request, stored)
    document = await served_document(request.app, stored)
    if owner and stored.blind:
        document = {**document, **stored.blind}  # the owner alone sees whom it was sent to blind
    return ap_response(request, document)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/actor", actor)
    app.router.add_get("/users/{username}", actor)
    app.router.add_get("/users/{username}/followers", followers_collection)
    app.router.add_get("/users/{username}/following", following_collection)
    app.router.add_get("/users/{username}/outbox", outbox_collection)
    app.router.add_get("/users/{username}/featured", featured_collection)
    app.router.add_get("/users/{username}/members", members_collection)
    app.router.add_get("/objects/{uuid}", published_object)
    app.router.add_get("/activities/{uuid}", published_object)
