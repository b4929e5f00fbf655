"""Who is an active member of this node's subtree, and of which chapter: asked down the tree.

A chapter is the one authority on its members. :func:`member_chapter` answers "is this actor
an active member of a chapter of my subtree?" with the chapter's actor id, or None:

1. this node's own active members (``node.membership.members``): the chapter is this node;
2. else the answer kept in ``project_subtree_answers`` while fresh (``YES_SECONDS`` for a
   yes, ``NO_SECONDS`` for a no: a member who just joined is found again soon);
3. else every linked child is asked at once, ``GET /branches/member?actor=<id>&depth=<n>``
   signed by this node's Group actor (as authorized fetch signs), each with a deadline
   (:func:`deadline`: shorter the deeper, so a level answers before the level above gives up).
   The first child whose answer names a chapter of ITS branch wins; the answer is kept.

Every node serves ``GET /branches/member`` (:func:`member_answer`) and computes it the same
way, recursively. Threat model (a lying peer):

- only this node's linked parent is answered: the request's HTTP signature must verify and
  its key's actor must be the linked parent (else 403 with the reason; an invalid signature
  is a 401, as on every signed GET); anyone else learns nothing about who is a member here;
- a child speaks only for its own subtree: a "yes" must name the child itself or a node whose
  signed report came to us through that child (``node.branches.reports``), else it is ignored;
  a child cannot make a stranger a member of another branch;
- everything is bounded: the depth (``node.branches.reports.MAX_DEPTH``, carried in the
  request and never trusted to grow), each answer's size (``MAX_ANSWER_BYTES``), the time
  (:func:`deadline`), and the address guard of the node's client (no private address unless
  the config allows it);
- a child that could not be asked makes a "no" incomplete: it is answered (``complete``
  false) but never kept, and the inbox tries the activity again later rather than refuse
  a member whose chapter was briefly down.

The table ``project_subtree_answers`` belongs here (:func:`remembered`, :func:`remember`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web

from federation.activitystreams import origin_of
from federation.client import FederationClient, FetchError, Signer
from node.branches import link_store, reports
from node.branches.reports import MAX_DEPTH
from node.core.actors import signer_for
from node.core.appkeys import CLOCK, CONFIG, DATABASE, FEDERATION_CLIENT, KEYRING, URLS
from node.core.clock import to_epoch
from node.core.config import Config
from node.core.db import Connection, fetch_one
from node.core.errors import ApiError
from node.core.i18n import N_
from node.core.keys import KeyRing
from node.core.serving import signer_of
from node.core.urls import Urls
from node.membership import members

YES_SECONDS = 600.0  # a "yes" is kept 10 minutes
NO_SECONDS = 120.0  # a "no" 2 minutes
ASK_SECONDS = 4.0  # the deadline of the first level's questions
MAX_ANSWER_BYTES = 4096
MAX_ACTOR_CHARS = 2048
PATH = "/branches/member"


@dataclass(frozen=True)
class Answer:
    chapter: str | None  # the chapter's actor id, None: no member of the subtree
    complete: bool = True  # every child that should have answered did (an incomplete "no" is never kept)
    asked: bool = False  # found by asking the children now (to be kept), not read here


@dataclass(frozen=True)
class Asker:
    """What asking down needs: reads outside any transaction, the node's client and its key."""

    config: Config
    urls: Urls
    reader: Connection
    client: FederationClient
    signer: Signer
    now: float

    @property
    def chapter_id(self) -> str:
        return self.urls.actor(self.config.node.name)


def deadline(depth: int) -> float:
    """Each level below answers half a second sooner than the one above waits for it."""
    return max(0.5, ASK_SECONDS - 0.5 * depth)


# --- the project_subtree_answers table


async def remembered(conn: Connection, actor_id: str, now: float) -> Answer | None:
    """The kept answer while it is fresh (a yes for ``YES_SECONDS``, a no for ``NO_SECONDS``)."""
    row = await fetch_one(conn, "SELECT chapter, checked_at FROM project_subtree_answers WHERE actor = ?", (actor_id,))
    if row is None:
        return None
    keep = YES_SECONDS if row["chapter"] is not None else NO_SECONDS
    return Answer(row["chapter"]) if now - row["checked_at"] < keep else None


async def remember(conn: Connection, actor_id: str, answer: Answer, now: float) -> None:
    """Keep an answer just asked for (an incomplete "no" is not kept)."""
    if not answer.asked or (answer.chapter is None and not answer.complete):
        return
    await conn.execute(
        "INSERT INTO project_subtree_answers (actor, chapter, checked_at) VALUES (?, ?, ?)"
        " ON CONFLICT (actor) DO UPDATE SET chapter = excluded.chapter, checked_at = excluded.checked_at",
        (actor_id, answer.chapter, now),
    )


# --- asking


async def known_here(conn: Connection, config: Config, urls: Urls, actor_id: str, now: float) -> Answer | None:
    """This node's own member (the chapter is this node), else a fresh kept answer, else None."""
    if await members.is_active_member(conn, config.node.name, actor_id):
        return Answer(urls.actor(config.node.name))
    return await remembered(conn, actor_id, now)


async def find(asker: Asker, actor_id: str, depth: int = 0) -> Answer:
    """The actor's chapter in this node's subtree: known here, else asked down."""
    found = await known_here(asker.reader, asker.config, asker.urls, actor_id, asker.now)
    if found is not None:
        return found
    return await ask_children(asker, actor_id, depth)


async def ask_children(asker: Asker, actor_id: str, depth: int) -> Answer:
    if depth >= MAX_DEPTH:
        return Answer(None, asked=True)
    children = [link.peer_id for link in await link_store.children_in_state(asker.reader, "linked")]
    if not children:
        return Answer(None, asked=True)
    answers = await asyncio.gather(*(_ask_one(asker, child, actor_id, depth) for child in children))
    for answer in answers:
        if answer.chapter is not None:
            return Answer(answer.chapter, asked=True)
    return Answer(None, complete=all(answer.complete for answer in answers), asked=True)


def question_url(child_id: str, actor_id: str, depth: int) -> str:
    origin = origin_of(child_id)
    return f"{origin.scheme}://{origin.netloc}{PATH}?actor={quote(actor_id, safe='')}&depth={depth}"


async def _ask_one(asker: Asker, child: str, actor_id: str, depth: int) -> Answer:
    """One child's answer, checked: a yes must name a chapter of that child's branch."""
    url = question_url(child, actor_id, depth + 1)
    try:
        async with asyncio.timeout(deadline(depth)):
            body = await asker.client.get_json(
                url, signer=asker.signer, accept="application/json", max_bytes=MAX_ANSWER_BYTES
            )
    except (FetchError, TimeoutError):
        return Answer(None, complete=False)
    if body.get("actor") != actor_id or type(body.get("member")) is not bool:
        return Answer(None, complete=False)  # no answer to what was asked
    chapter = body.get("chapter")
    if body["member"] and isinstance(chapter, str) and await _in_branch(asker.reader, child, chapter):
        return Answer(chapter)
    return Answer(None, complete=body.get("complete", True) is True)


async def _in_branch(reader: Connection, child: str, chapter: str) -> bool:
    """The child itself, or a node whose report came to us through that child."""
    if chapter == child:
        return True
    row = await reports.get(reader, chapter)
    return row is not None and row["via_child"] == child


# --- the application's side


async def node_signer(reader: Connection, config: Config, urls: Urls) -> Signer:
    """The node's Group actor's signer, loaded from the store (a preparer has no key ring)."""
    ring = KeyRing({})
    if not await ring.load(reader, config.node.name):
        raise LookupError(f"the node's actor {config.node.name} has no keys")
    return signer_for(urls, ring[config.node.name])


def asker_of(app: web.Application) -> Asker:
    config, urls = app[CONFIG], app[URLS]
    return Asker(
        config=config,
        urls=urls,
        reader=app[DATABASE].reader,
        client=app[FEDERATION_CLIENT],
        signer=signer_for(urls, app[KEYRING][config.node.name]),
        now=to_epoch(app[CLOCK].now()),
    )


async def member_chapter(app: web.Application, actor_id: str) -> str | None:
    """The chapter (its actor id) of which ``actor_id`` is an active member in this node's subtree, or None."""
    return (await _find_and_keep(app, actor_id, 0)).chapter


async def _find_and_keep(app: web.Application, actor_id: str, depth: int) -> Answer:
    asker = asker_of(app)
    answer = await find(asker, actor_id, depth)
    if answer.asked:
        async with app[DATABASE].transaction() as conn:
            await remember(conn, actor_id, answer, asker.now)
    return answer


def _actor_param(request: web.Request) -> str:
    actor = request.query.get("actor", "")
    parts = urlsplit(actor)
    if len(actor) > MAX_ACTOR_CHARS or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(
            400,
            N_("the actor parameter must be an actor's http(s) id"),
            hint="GET /branches/member?actor=<actor id>",
        )
    return actor


def _depth_param(request: web.Request) -> int:
    raw = request.query.get("depth", "1")
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_DEPTH:
        raise ApiError(400, N_("depth must be a number from 0 to {n}", n=MAX_DEPTH), hint="leave it out: 1")
    return int(raw)


async def _require_parent(request: web.Request) -> None:
    signer = await signer_of(request)  # an invalid signature: 401 with the reason
    if signer is None:
        raise ApiError(
            403,
            N_("only this node's linked parent may ask who its members are, and it signs the request"),
            hint="sign the GET with the parent node's key",
        )
    parent = await link_store.linked_parent(request.app[DATABASE].reader)
    if parent is None or parent.peer_id != signer.actor_id:
        raise ApiError(
            403,
            N_(
                "{actor} is not this node's linked parent: only the parent may ask who its members are",
                actor=signer.actor_id,
            ),
            hint="ask the node you are linked to; membership is answered one level up only",
        )


async def member_answer(request: web.Request) -> web.Response:
    """``GET /branches/member?actor=<id>``: is it an active member of this node's subtree, and where?"""
    await _require_parent(request)
    actor_id, depth = _actor_param(request), _depth_param(request)
    answer = await _find_and_keep(request.app, actor_id, depth)
    return web.json_response(
        {
            "actor": actor_id,
            "member": answer.chapter is not None,
            "chapter": answer.chapter,
            "complete": answer.complete,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, member_answer)
