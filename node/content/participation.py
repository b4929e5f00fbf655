"""Members taking part on a post's page: replying, and signing (endorsing) a blog post or a proposal.

- ``POST /objects/{uuid}/reply``: a signed-in active member's reply, published under their
  ``Person`` (a ``Note`` with ``inReplyTo``) and kept in the post's thread in the same
  transaction, as a reply from another server would be.
- ``POST /objects/{uuid}/sign`` (``sign=yes|no``): an active member signs a blog post or a
  proposal, or withdraws their signature; pages show "N signatories". Signatures are kept in
  the ``endorsements`` table (one per member and object) and are the chapter's own record:
  they are not federated. A post's page names its signatories, each linked to their page
  (``/@username``); :func:`signed_by` lists what a member signed, for that page.
- :func:`page_context`: what an object's page shows of this (the reply form, the sign button,
  the count, the author's and the repliers' names, and the edit buttons for who may edit).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from federation import jsonio
from node.content import forms, interactions, listing, posts
from node.core import objects
from node.core.appkeys import CLOCK, CONFIG, DATABASE, URLS
from node.core.clock import to_epoch
from node.core.db import Connection, fetch_all, fetch_value
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.registry import Part
from node.membership.members import PUBLISHER_ROLES
from node.membership.sessions import active_member_actor, check_csrf, require_viewer, viewer, viewer_role
from outbox import service

SIGNABLE_KINDS = ("blog", "proposal")


# --- the endorsements table ------------------------------------------------------------------


async def sign(conn: Connection, object_id: str, actor_id: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO endorsements (object_id, actor_id, signed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (object_id, actor_id, now),
    )


async def unsign(conn: Connection, object_id: str, actor_id: str) -> None:
    await conn.execute("DELETE FROM endorsements WHERE object_id = ? AND actor_id = ?", (object_id, actor_id))


async def signatories(conn: Connection, object_id: str) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM endorsements WHERE object_id = ?", (object_id,))


async def signatory_ids(conn: Connection, object_id: str, *, limit: int = 500) -> list[str]:
    """Who signed, first signature first."""
    rows = await fetch_all(
        conn,
        "SELECT actor_id FROM endorsements WHERE object_id = ? ORDER BY signed_at, actor_id LIMIT ?",
        (object_id, limit),
    )
    return [row["actor_id"] for row in rows]


async def signed_by(conn: Connection, actor_id: str, *, limit: int = 50) -> list[dict]:
    """The public posts ``actor_id`` signed, newest signature first, as served."""
    rows = await fetch_all(
        conn,
        "SELECT o.data FROM endorsements e JOIN objects o ON o.id = e.object_id WHERE e.actor_id = ?"
        " AND o.deleted IS NULL AND o.visibility IN ('public', 'unlisted') ORDER BY e.signed_at DESC LIMIT ?",
        (actor_id, limit),
    )
    return [jsonio.loads(row["data"]) for row in rows]


async def has_signed(conn: Connection, object_id: str, actor_id: str) -> bool:
    return bool(
        await fetch_value(
            conn, "SELECT 1 FROM endorsements WHERE object_id = ? AND actor_id = ?", (object_id, actor_id)
        )
    )


# --- the handlers ----------------------------------------------------------------------------


async def _public_object(request: web.Request) -> objects.StoredObject:
    object_id = f"{request.app[URLS].base}/objects/{request.match_info['uuid']}"
    stored = await objects.get(request.app[DATABASE].reader, object_id)
    if (
        stored is None
        or stored.kind != "object"
        or stored.deleted is not None
        or stored.visibility not in ("public", "unlisted")
    ):
        raise ApiError(404, N_("no post at {id}", id=object_id))
    return stored


async def _member(request: web.Request) -> tuple[str, str]:
    """The signed-in active member's (username, actor id), from a CSRF-checked form."""
    found = await require_viewer(request)
    check_csrf(found, await request.post())
    member = await active_member_actor(request)
    if member is None or found.username is None:
        raise ApiError(
            403, N_("only active members of the chapter do this here"), hint=N_("sign in with your member account")
        )
    return found.username, member


async def reply(request: web.Request) -> web.Response:
    stored = await _public_object(request)
    username, member = await _member(request)
    text = (await request.post()).get("content", "")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, N_("the reply is empty"))
    body = {"type": "Note", "content": forms.paragraphs(text), "inReplyTo": stored.id}
    composed, now = await service.compose(request.app, username, body)
    note = composed.created

    async def keep_in_thread(conn: Connection) -> None:
        await interactions.insert_reply(
            conn,
            reply={k: v for k, v in note.items() if k != "@context"},
            object_id=stored.id,
            actor_id=member,
            visibility="public",
            published=to_epoch(now),
            now=to_epoch(now),
        )

    composed.changes.append(keep_in_thread)
    await service.apply(request.app, username, composed, now=now)
    raise web.HTTPSeeOther(stored.id)


async def sign_post(request: web.Request) -> web.Response:
    stored = await _public_object(request)
    if stored.data.get("postKind") not in SIGNABLE_KINDS:
        raise ApiError(400, N_("only blog posts and proposals are signed"))
    _, member = await _member(request)
    wanted = (await request.post()).get("sign", "yes")
    async with request.app[DATABASE].transaction() as conn:
        if wanted == "no":
            await unsign(conn, stored.id, member)
        else:
            await sign(conn, stored.id, member, to_epoch(request.app[CLOCK].now()))
    raise web.HTTPSeeOther(stored.id)


def profile_path(request: web.Request, actor_id: str) -> str | None:
    """``/@username`` of a local member's account (or of the chapter), None for anyone else."""
    urls = request.app[URLS]
    prefix = urls.actor("")
    if not isinstance(actor_id, str) or not actor_id.startswith(prefix) or "/" in actor_id[len(prefix) :]:
        return None
    return f"/@{actor_id[len(prefix) :]}" if actor_id != prefix else None  # the chapter's is its home


async def page_context(request: web.Request, stored: objects.StoredObject) -> dict:
    """The reply form, the signatures, the author's name and the edit buttons, for an object's page."""
    reader, found = request.app[DATABASE].reader, await viewer(request)
    member = await active_member_actor(request)
    thread = await interactions.page_thread(reader, stored.id, limit=200)
    names = await listing.author_names(
        request, {stored.data.get("attributedTo", "")} | {r.get("attributedTo", "") for r in thread}
    )
    signable = stored.data.get("postKind") in SIGNABLE_KINDS
    own = found is not None and found.username is not None and stored.author == found.username
    may_edit = own or (stored.author == request.app[CONFIG].node.name and await viewer_role(request) in PUBLISHER_ROLES)
    context: dict[str, Any] = {
        "author_name": names.get(stored.data.get("attributedTo", ""), ""),
        "author_page": profile_path(request, stored.data.get("attributedTo", "")),
        "reply_authors": names,
        "can_reply": member is not None,
        "can_edit": may_edit and stored.type in ("Note", "Article", "Event"),
    }
    if signable:
        signers = await signatory_ids(reader, stored.id)
        signer_names = await listing.author_names(request, set(signers))
        context.update(
            signatory_names=[(signer_names.get(actor, actor), profile_path(request, actor)) for actor in signers],
            signatories=await signatories(reader, stored.id),
            can_sign=member is not None,
            signed=member is not None and await has_signed(reader, stored.id, member),
        )
    return context


async def account_parts(request: web.Request, username: str) -> list[Part]:
    """A member's own account page: their blog posts, and what they signed."""
    reader, actor_id = request.app[DATABASE].reader, request.app[URLS].actor(username)
    return [
        Part(
            30,
            "account_posts.html",
            {
                "posts": await posts.recent_public(reader, username, "blog", limit=20),
                "signed": await signed_by(reader, actor_id, limit=20),
                "page": f"/@{username}",
            },
        )
    ]


def add_routes(app: web.Application) -> None:
    app.router.add_post("/objects/{uuid}/reply", reply)
    app.router.add_post("/objects/{uuid}/sign", sign_post)
