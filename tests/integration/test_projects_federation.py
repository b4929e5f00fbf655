"""What the fediverse does to a project, on a real tree: international <- region <- chapter.

Alice (a loopback actor) and Carol (on a bovine-driven server) are approved members of the
chapter only. The international does not know them: it asks down the tree (``GET
/branches/member``, signed by each level) and finds them. With ``[projects] like_signs`` on at
the international, their Like of a draft there signs it (and still counts as a like); the Undo
withdraws it. The region keeps likes as likes only. A stranger's Like and Join are refused and
kept in the inbox with the reason; a Like after the project's vote began is refused with its
reason. The question route answers only the linked parent.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
from aiohttp import web

from federation.signatures import sign_request
from node.branches import link_store
from node.content import interactions
from node.core.appkeys import KEYRING
from node.core.clock import to_epoch
from node.core.config import ProjectsConfig
from node.core.db import fetch_one
from node.projects import store, subtree
from tests.support.c2s import eventually, publish
from tests.support.projects import three_levels

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def build(make_node, tmp_path, member_ids: list[str]) -> dict:
    """world (likes sign) <- region (likes are likes) <- chapter, whose members are ``member_ids``."""
    return await three_levels(make_node, tmp_path, member_ids, world_projects=ProjectsConfig(like_signs=True))


async def article(node, name: str) -> str:
    status, body, _ = await publish(
        node, {"type": "Article", "name": name, "content": f"<p>{name}</p>", "to": [PUBLIC], "cc": []}
    )
    assert status == 201, body
    return body["object"] if isinstance(body["object"], str) else body["object"]["id"]


async def project_with_drafts(node, starter: str, drafts: int = 1) -> tuple[str, list[str]]:
    """An open project of ``node`` and its drafts, each an Article the node published."""
    project_id = await article(node, "Adopt a charter")
    draft_ids = [await article(node, f"Charter draft {n}") for n in range(drafts)]
    now = to_epoch(datetime.now(UTC))
    async with node.db.transaction() as conn:
        await store.insert_project(
            conn,
            project_id=project_id,
            title="Adopt a charter",
            aim="One charter for all chapters",
            default_option="no change",
            started_by=starter,
            opened=True,
            now=now,
        )
        for n, draft_id in enumerate(draft_ids):
            await store.insert_draft(
                conn,
                draft_id=draft_id,
                project_id=project_id,
                title=f"Charter draft {n}",
                text="Article 1.",
                author=starter,
                now=now,
            )
    return project_id, draft_ids


async def inbox_state(node, activity_id: str, wanted: str) -> dict:
    async def reached():
        row = await fetch_one(
            node.db.reader, "SELECT state, last_error FROM inbox_items WHERE activity_id = ?", (activity_id,)
        )
        return dict(row) if row is not None and row["state"] == wanted else None

    return await eventually(reached, timeout=15)


async def likes(node, object_id: str) -> int:
    return (await interactions.counts(node.db.reader, object_id)).likes


async def signed(node, draft_id: str, actor_id: str) -> bool:
    return await store.has_signed(node.db.reader, draft_id, actor_id)


async def send(actor, node, kind: str, obj) -> dict:
    activity = actor.activity(kind, obj, to=[node.actor_id])
    status, body = await actor.post(node.inbox, activity)
    assert status == 202, body
    return activity


async def test_a_members_like_signs_a_draft_found_down_the_tree(make_node, tmp_path, remote_actor):
    alice, mallory = await remote_actor("alice"), await remote_actor("mallory")
    nodes = await build(make_node, tmp_path, [alice.id])
    world, region = nodes["world"], nodes["region"]
    project_id, (draft_id, second_id) = await project_with_drafts(world, "http://127.0.0.1:1/users/starter", 2)

    like = await send(alice, world, "Like", draft_id)
    await inbox_state(world, like["id"], "done")
    assert await signed(world, draft_id, alice.id) and await likes(world, draft_id) == 1
    signature = await store.signatories(world.db.reader, draft_id)
    assert [(s.actor, s.via) for s in signature] == [(alice.id, "like")]
    draft = await store.get_draft(world.db.reader, draft_id)
    assert draft is not None and draft.qualified_at is not None  # one member of one: the quorum is 1
    kept = await fetch_one(world.db.reader, "SELECT chapter FROM project_subtree_answers WHERE actor = ?", (alice.id,))
    assert kept["chapter"] == nodes["chapter"].actor_id

    undo = await send(alice, world, "Undo", like)
    await inbox_state(world, undo["id"], "done")
    assert not await signed(world, draft_id, alice.id) and await likes(world, draft_id) == 0

    stranger = await send(mallory, world, "Like", draft_id)
    refused = await inbox_state(world, stranger["id"], "dead")
    assert "not an active member of this node's subtree" in refused["last_error"]
    assert not await signed(world, draft_id, mallory.id)

    async with world.db.transaction() as conn:
        assert await store.begin_vote(conn, project_id, f"{world.actor_id}/proposals/x", to_epoch(datetime.now(UTC)))
    late = await send(alice, world, "Like", second_id)
    refused = await inbox_state(world, late["id"], "dead")
    assert "went to the vote" in refused["last_error"]
    assert not await signed(world, second_id, alice.id)

    _, (region_draft,) = await project_with_drafts(region, alice.id)
    like = await send(alice, region, "Like", region_draft)  # like_signs off here: a like, nothing more
    await inbox_state(region, like["id"], "done")
    assert await likes(region, region_draft) == 1 and not await signed(region, region_draft, alice.id)


async def test_join_and_leave_of_a_project(make_node, tmp_path, remote_actor):
    alice, mallory = await remote_actor("alice"), await remote_actor("mallory")
    nodes = await build(make_node, tmp_path, [alice.id])
    world = nodes["world"]
    project_id, _ = await project_with_drafts(world, "http://127.0.0.1:1/users/starter", 0)

    join = await send(alice, world, "Join", project_id)
    await inbox_state(world, join["id"], "done")
    assert await store.is_member(world.db.reader, project_id, alice.id)
    leave = await send(alice, world, "Leave", project_id)
    await inbox_state(world, leave["id"], "done")
    assert not await store.is_member(world.db.reader, project_id, alice.id)

    stranger = await send(mallory, world, "Join", project_id)
    refused = await inbox_state(world, stranger["id"], "dead")
    assert "not an active member" in refused["last_error"]
    assert not await store.is_member(world.db.reader, project_id, mallory.id)


async def signed_get(url: str, *, key_id: str | None = None, key=None) -> tuple[int, dict]:
    headers = {"Accept": "application/json"}
    if key is not None:
        headers = sign_request("GET", url, None, key_id=key_id, private_key=key, now=datetime.now(UTC), headers=headers)
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_only_the_linked_parent_is_told_who_is_a_member(make_node, tmp_path, remote_actor):
    alice = await remote_actor("alice")
    nodes = await build(make_node, tmp_path, [alice.id])
    region, chapter = nodes["region"], nodes["chapter"]
    url = f"{region.base_url}/branches/member?actor={quote(alice.id, safe='')}"
    parent_key = {
        "key_id": f"{nodes['world'].actor_id}#main-key",
        "key": nodes["world"].app[KEYRING]["world"].rsa_private,
    }

    status, body = await signed_get(url)
    assert status == 403 and "linked parent" in body["error"], body
    status, body = await signed_get(url, key_id=alice.key_id, key=alice.key)  # a good signature, not the parent's
    assert status == 403 and alice.id in body["error"], body
    chapter_key = {"key_id": f"{chapter.actor_id}#main-key", "key": chapter.app[KEYRING]["chapter"].rsa_private}
    status, body = await signed_get(url, **chapter_key)  # a child may not ask its parent
    assert status == 403, body
    for bad in ("", "?actor=", "?actor=not-a-url", "?actor=ftp%3A%2F%2Fx"):
        status, body = await signed_get(f"{region.base_url}/branches/member{bad}", **parent_key)
        assert status == 400 and "actor" in body["error"], (bad, body)

    status, body = await signed_get(url, **parent_key)
    assert status == 200, body
    assert body == {"actor": alice.id, "member": True, "chapter": chapter.actor_id, "complete": True}
    nobody = f"http://127.0.0.1:1/users/{uuid.uuid4()}"
    status, body = await signed_get(f"{region.base_url}/branches/member?actor={quote(nobody, safe='')}", **parent_key)
    assert status == 200 and body["member"] is False and body["chapter"] is None, body


async def test_a_bovine_members_like_signs_and_its_undo_withdraws(make_node, tmp_path, bovine_peer):
    carol = await bovine_peer("carol")
    nodes = await build(make_node, tmp_path, [carol.actor_id])
    world = nodes["world"]
    _, (draft_id,) = await project_with_drafts(world, "http://127.0.0.1:1/users/starter")

    sent = await carol.send(world.inbox, {"type": "Like", "object": draft_id, "to": [world.actor_id]})
    assert sent["status"] == 202, sent
    like = sent["activity"]
    await inbox_state(world, like["id"], "done")
    assert await signed(world, draft_id, carol.actor_id) and await likes(world, draft_id) == 1

    sent = await carol.send(world.inbox, {"type": "Undo", "object": like, "to": [world.actor_id]})
    assert sent["status"] == 202, sent
    await inbox_state(world, sent["activity"]["id"], "done")
    assert not await signed(world, draft_id, carol.actor_id) and await likes(world, draft_id) == 0


class LyingChild:
    """A linked child that answers ``GET /branches/member`` as the test says (a lie, a flood, silence)."""

    def __init__(self) -> None:
        self.answer: dict = {}
        self.delay = 0.0
        self.asked: list[dict] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def id(self) -> str:
        return f"http://127.0.0.1:{self.port}/users/liar"

    async def start(self) -> LyingChild:
        app = web.Application()
        app.router.add_get("/branches/member", self._member)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _member(self, request: web.Request) -> web.Response:
        self.asked.append({"query": dict(request.query), "signature": request.headers.get("Signature", "")})
        await asyncio.sleep(self.delay)
        return web.json_response(self.answer)


async def test_a_lying_child_speaks_only_for_its_own_branch(make_node, tmp_path):
    liar = await LyingChild().start()
    try:
        await _lying_child(make_node, tmp_path, liar)
    finally:
        await liar.stop()


async def _lying_child(make_node, tmp_path, liar: LyingChild) -> None:
    nodes = await build(make_node, tmp_path, [])
    world, region = nodes["world"], nodes["region"]
    now = to_epoch(datetime.now(UTC))
    async with world.db.transaction() as conn:
        await link_store.request(
            conn,
            peer_id=liar.id,
            role="child",
            join_id=f"{liar.id}/join",
            level="region",
            inbox=f"{liar.id}/inbox",
            shared_inbox=None,
            collection=None,
            now=now,
        )
        await link_store.set_state(conn, liar.id, "child", "linked", now)

    def someone() -> str:
        return f"http://127.0.0.1:1/users/{uuid.uuid4()}"

    # the liar names a chapter of the region's branch, not of its own: ignored
    actor = someone()
    liar.answer = {"actor": actor, "member": True, "chapter": nodes["chapter"].actor_id}
    assert await subtree.member_chapter(world.app, actor) is None
    asked = liar.asked[-1]
    assert (
        asked["query"] == {"actor": actor, "depth": "1"} and f'keyId="{world.actor_id}#main-key"' in asked["signature"]
    )
    # an answer about someone else, a flood, and silence past the deadline: no answer, never kept
    actor = someone()
    for answer, delay in (
        ({"actor": someone(), "member": True, "chapter": liar.id}, 0.0),
        ({"actor": actor, "member": True, "chapter": liar.id, "pad": "x" * subtree.MAX_ANSWER_BYTES}, 0.0),
    ):
        liar.answer, liar.delay = answer, delay
        assert await subtree.member_chapter(world.app, actor) is None
    liar.answer, liar.delay = {"actor": actor, "member": True, "chapter": liar.id}, subtree.ASK_SECONDS + 1
    assert await subtree.member_chapter(world.app, actor) is None
    kept = await fetch_one(world.db.reader, "SELECT chapter FROM project_subtree_answers WHERE actor = ?", (actor,))
    assert kept is None  # an incomplete "no" is not kept
    # the liar may speak for itself: its own members are its to name
    liar.delay = 0.0
    assert await subtree.member_chapter(world.app, actor) == liar.id
    liar.answer = {"actor": actor, "member": False, "chapter": None}  # the yes is kept: not asked again
    asked_before = len(liar.asked)
    assert await subtree.member_chapter(world.app, actor) == liar.id and len(liar.asked) == asked_before
    # the region, asked by its parent about the liar's claim, knows nothing of it
    assert await subtree.member_chapter(region.app, actor) is None
