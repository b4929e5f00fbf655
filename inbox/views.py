"""``POST`` to an actor's inbox or the shared inbox: read, verify, store, 202.

1. Content type and size (415, 413), JSON object with ``id``, ``type`` and ``actor`` (400);
   before any signature work: blocked hosts and actors (403), more than ``max_recipients``
   addresses (400), a created or updated object on another host than its actor (400).
2. The HTTP signature (401 with the reason): see :mod:`federation.verification`; then the
   rate limits per signing host and per actor (429 with ``Retry-After``).
3. The signer must be the activity's actor (401), unless the activity carries a valid
   FEP-8b32 proof from its actor (a forwarded or relayed activity). The activity's id must
   be on its actor's host.
4. Insert, ignoring repeats of the same id, commit, answer 202; the worker does the rest.
   Rows go through :mod:`inbox.intake` (group commit): concurrent requests share one
   transaction, and each 202 is still sent only after the commit that holds its row.

A ``Delete`` of an actor whose key can no longer be fetched (the account is gone) is
verified with the stored key if there is one, and otherwise acknowledged and dropped, as
Mastodon does: there is nothing here to delete.

``GET`` of the inbox, with the admin token, lists what was received, newest first
(ActivityPub 5.2).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from aiohttp import web

from federation import jsonio
from federation.activitystreams import id_of, origin_of
from federation.client import FetchError
from federation.proofs import ProofError, proof_verification_method, verify_actor_proof
from federation.signatures import SignatureError
from federation.verification import KeyUnavailable, VerifiedSigner, verify_request, verify_with_cached_key
from inbox.intake import IntakeRow
from node.core import inbox_items as store
from node.core.appkeys import (
    BLOCKLIST,
    CLOCK,
    CONFIG,
    DATABASE,
    HOST_IS_BACK,
    INBOX_INTAKE,
    INBOX_LIMITS,
    REGISTRY,
    REMOTE_ACTORS,
    URLS,
)
from node.core.auth import require_admin
from node.core.clock import to_epoch
from node.core.errors import ApiError
from node.core.serving import PAGE_SIZE, ap_response, collection_document, page_number, read_json_object
from node.core.urls import INSTANCE_USERNAME

log = logging.getLogger("chapterhouse.inbox")

INBOX_CONTENT_TYPES = ("application/activity+json", "application/ld+json", "application/json")
SHARED = "shared"
ACCEPTED = b'{"status": "accepted"}'  # the same bytes for every 202


async def _recipient(request: web.Request) -> str:
    if request.path == "/actor/inbox":
        return INSTANCE_USERNAME
    username = request.match_info.get("username")
    if username is None:
        return SHARED
    if username not in (request.app[CONFIG].node.name, INSTANCE_USERNAME) and not await _is_local_actor(
        request, username
    ):
        raise ApiError(404, f"no actor named {username} here")
    return username


async def _is_local_actor(request: web.Request, username: str) -> bool:
    """A local actor beyond the chapter and the instance actor (a member's account), as the registry knows them."""
    for lookup in request.app[REGISTRY].local_actors:
        if await lookup(request.app[DATABASE].reader, request.app[URLS], username):
            return True
    return False


@dataclass(frozen=True)
class Envelope:
    """What the inbox checks of an activity, each id split once (a busy inbox splits a lot)."""

    activity_id: str
    kind: str
    actor_id: str
    activity_host: str  # host[:port]
    actor_host: str
    actor_hostname: str


def _check_shape(activity: dict) -> Envelope:
    activity_id, kind, actor_id = activity.get("id"), activity.get("type"), id_of(activity.get("actor"))
    if not isinstance(activity_id, str) or len(activity_id) > 2048:
        raise ApiError(
            400,
            "the activity needs an http(s) id of at most 2048 characters",
            hint="transient activities without an id are not accepted",
        )
    if not isinstance(kind, str) or not kind:
        raise ApiError(400, "the activity needs a type (a string)")
    if actor_id is None or len(actor_id) > 2048:
        raise ApiError(400, "the activity needs an actor (an http(s) id of at most 2048 characters)")
    activity_parts, actor_parts = origin_of(activity_id), origin_of(actor_id)
    if activity_parts.scheme not in ("http", "https") or not activity_parts.netloc:
        raise ApiError(
            400, "the activity needs an http(s) id", hint="transient activities without an id are not accepted"
        )
    if actor_parts.scheme not in ("http", "https") or not actor_parts.hostname:
        raise ApiError(400, "the activity needs an actor (an http(s) id)")
    return Envelope(activity_id, kind, actor_id, activity_parts.netloc, actor_parts.netloc, actor_parts.hostname)


ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")


def _count_recipients(activity: dict) -> int:
    """Addresses on the activity and on an embedded object (each list or single value)."""
    count = 0
    for document in (activity, activity.get("object")):
        if isinstance(document, dict):
            for name in ADDRESS_FIELDS:
                value = document.get(name)
                count += len(value) if isinstance(value, list) else (value is not None)
    return count


def _check_limits(request: web.Request, activity: dict, envelope: Envelope) -> None:
    """What can be refused before any signature work: blocked senders, too many recipients,
    an object claimed for another host."""
    if request.app[BLOCKLIST].blocked(envelope.actor_id, envelope.actor_hostname):
        raise ApiError(403, f"{envelope.actor_hostname} or this actor is blocked by this node's admin")
    limit = request.app[CONFIG].federation.max_recipients
    if (count := _count_recipients(activity)) > limit:
        raise ApiError(400, f"the activity has {count} recipients; this node accepts at most {limit}")
    if "proof" not in activity:  # with a proof, checked once the proof verifies (_check_object_host)
        _refuse_object_off_host(activity, envelope)


def _refuse_object_off_host(activity: dict, envelope: Envelope) -> None:
    created = activity.get("object")
    if (
        envelope.kind in ("Create", "Update")
        and isinstance(created, dict)
        and isinstance(created.get("id"), str)
        and origin_of(created["id"]).netloc != envelope.actor_host
    ):
        raise ApiError(
            400,
            f"the object {created['id']} is not on its actor's host",
            hint="an actor may only create or update objects on its own server",
        )


async def _check_object_host(request: web.Request, activity: dict, envelope: Envelope, proof_ok: bool | None) -> None:
    """An object on another host than its actor passes only with a proof that verifies."""
    if "proof" not in activity:
        return  # already checked before the signature
    if proof_ok is None:
        proof_ok = await _proof_allows(request, envelope.actor_id, activity)
    if not proof_ok:
        _refuse_object_off_host(activity, envelope)


def _check_rate(request: web.Request, signer: VerifiedSigner, key_hostname: str) -> None:
    host = key_hostname.lower()  # the machine or domain, whatever the port
    if request.app[BLOCKLIST].blocked(signer.key_id, host) or request.app[BLOCKLIST].url_blocked(signer.actor_id):
        raise ApiError(403, f"{host} or this actor is blocked by this node's admin")
    wait = request.app[INBOX_LIMITS].check(host=host, actor_id=signer.actor_id, now=time.monotonic())
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"too many requests from {host} or {signer.actor_id}; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


class _SignedRequest(TypedDict):
    """A received request as both verifiers take it."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes | None
    now: datetime
    expected_host: str | None


def _is_self_delete(kind: str, actor_id: str, activity: dict) -> bool:
    return kind == "Delete" and id_of(activity.get("object")) == actor_id


async def _verified_signer(
    request: web.Request, body: bytes, kind: str, actor_id: str, activity: dict
) -> VerifiedSigner | None:
    """Who signed; None means "acknowledge and drop" (a gone actor we never knew)."""
    remote_actors, now = request.app[REMOTE_ACTORS], request.app[CLOCK].now()
    params: _SignedRequest = {
        "method": request.method,
        "target": request.raw_path,
        "headers": request.headers,
        "body": body,
        "now": now,
        "expected_host": request.app[URLS].host,
    }
    try:
        return await verify_request(remote_actors, **params)
    except KeyUnavailable as error:
        if _is_self_delete(kind, actor_id, activity):  # the account is gone: its key may be too
            return await verify_with_cached_key(remote_actors, **params)
        raise ApiError(401, f"signature refused: {error}", hint="the key must be fetchable at its id") from None
    except SignatureError as error:
        raise ApiError(
            401,
            f"signature refused: {error}",
            hint="sign with draft-cavage (rsa-sha256/hs2019) or RFC 9421, covering the digest",
        ) from None


async def _proof_allows(request: web.Request, actor_id: str, activity: dict) -> bool:
    """FEP-8b32: an activity relayed by someone else is accepted if its own actor signed it."""
    if "proof" not in activity:
        return False
    try:
        method = proof_verification_method(activity)
        if method.split("#")[0] != actor_id:
            return False
        actor = await request.app[REMOTE_ACTORS].get_actor(actor_id)
        verify_actor_proof(activity, actor.data)
    except (ProofError, FetchError):
        return False
    return True


async def post_inbox(request: web.Request) -> web.Response:
    recipient = await _recipient(request)
    body, activity = await read_json_object(request, accepted_types=INBOX_CONTENT_TYPES)
    envelope = _check_shape(activity)
    activity_id, kind, actor_id = envelope.activity_id, envelope.kind, envelope.actor_id
    _check_limits(request, activity, envelope)
    try:
        signer = await _verified_signer(request, body, kind, actor_id, activity)
    except SignatureError as error:
        raise ApiError(401, f"signature refused: {error}") from None
    if signer is None:
        return web.json_response({"status": "ignored", "reason": "Delete of an actor this node never knew"}, status=202)
    key_parts = origin_of(signer.key_id)
    _check_rate(request, signer, key_parts.hostname)
    proof_ok = None
    if signer.actor_id != actor_id and not (proof_ok := await _proof_allows(request, actor_id, activity)):
        raise ApiError(
            401,
            f"signed by {signer.actor_id}, but the activity's actor is {actor_id}",
            hint="an actor may only send its own activities (or carry its FEP-8b32 proof)",
        )
    await _check_object_host(request, activity, envelope, proof_ok)
    if envelope.activity_host != envelope.actor_host:
        raise ApiError(400, f"the activity id {activity_id} is not on its actor's host")
    now = to_epoch(request.app[CLOCK].now())
    await request.app[INBOX_INTAKE].submit(
        IntakeRow(activity_id, recipient, actor_id, kind, body.decode("utf-8"), now, activity)
    )
    await request.app[HOST_IS_BACK](key_parts.netloc)
    return web.Response(body=ACCEPTED, status=202, content_type="application/json")


async def get_inbox(request: web.Request) -> web.Response:
    """The owner reads its inbox: received activities, newest first."""
    require_admin(request)
    recipient = await _recipient(request)
    recipients = (recipient, SHARED) if recipient != SHARED else (SHARED,)
    db, urls = request.app[DATABASE], request.app[URLS]
    page = page_number(request)
    total = await store.count_for_recipients(db.reader, recipients)
    items = []
    if page is not None:
        rows = await store.page_for_recipients(db.reader, recipients, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        items = [jsonio.loads(row["body"]) for row in rows]
    inbox_url = urls.inbox(recipient) if recipient != SHARED else urls.shared_inbox
    return ap_response(request, collection_document(inbox_url, total, page, items))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/inbox", post_inbox)
    app.router.add_post("/actor/inbox", post_inbox)
    app.router.add_post("/users/{username}/inbox", post_inbox)
    app.router.add_get("/users/{username}/inbox", get_inbox)
