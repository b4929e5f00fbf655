"""The projects room against lying peers: strangers, forging members, a flood, a hostile parent.

A real tree on loopback, international <- region <- chapter; Alice and Bob are approved members of
the chapter only, Mallory is nobody's member. What the international must hold:

- a stranger starts, writes, revises, joins and signs nothing, and is never answered;
- a member cannot act as another (the HTTP signature's actor, an object on another host), a
  remote actor cannot Update or Delete the node's own Articles, a Join of a project of another
  node joins nothing here, a Create into another host's collection makes nothing here;
- a signature counts once however often it is given, and a withdrawn signature is not brought
  back by its Join delivered again (a relayed copy carrying the member's proof, after the inbox
  forgot it), nor by any older Join after sign, withdraw, sign, withdraw; an older Leave withdraws
  no newer signature;
- what one member writes is bounded: projects open at once, drafts per project and per author,
  revisions per draft;
- script in what members write is shown as text on the node's pages.

And a chapter below a hostile parent: the parent's projects (script in their names and
content, thousands of items, items and pages on other hosts, a collection that names itself)
are shown escaped, at most ``MAX_ITEMS`` of them, and nothing off the parent's host is fetched.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
import pytest

from node.branches import link_store
from node.core.clock import to_epoch
from node.core.db import fetch_one
from node.projects import above, rules, store, subtree
from tests.integration.test_projects_authoring import (
    PUBLIC,
    answered,
    answers,
    article,
    build,
    inbox_state,
    projects_of,
    send,
    start,
)
from tests.support.c2s import eventually, get_json, publish
from tests.support.hostile import HostileGroup
from tests.support.tree import tree_config

SCRIPT = "<script>alert(1)</script>"


def now() -> float:
    return to_epoch(datetime.now(UTC))


async def page(node, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{node.base_url}{path}", headers={"Accept": "text/html"}) as response:
            return response.status, await response.text()


async def done_or_dead(node, activity_id: str) -> dict:
    async def ended():
        row = await fetch_one(
            node.db.reader, "SELECT state, last_error FROM inbox_items WHERE activity_id = ?", (activity_id,)
        )
        return dict(row) if row is not None and row["state"] in ("done", "dead") else None

    return await eventually(ended, timeout=15)


async def test_strangers_and_forgers_change_nothing(make_node, tmp_path, remote_actor):
    alice, bob, mallory = await remote_actor("alice"), await remote_actor("bob"), await remote_actor("mallory")
    nodes = await build(make_node, tmp_path, [alice.id, bob.id])
    world, region = nodes["world"], nodes["region"]
    _, project_id = await start(alice, world)
    written = await send(alice, world, "Create", article(alice.base, alice.id, project_id, "Draft A", "<p>One.</p>"))
    draft_id = (await answered(alice, "Accept", written["id"]))["result"]

    # a stranger starts, writes, revises, joins and signs nothing, and is never answered
    tries = [
        article(mallory.base, mallory.id, projects_of(world), "Mine", "<p>x</p>", defaultOption="no"),
        article(mallory.base, mallory.id, project_id, "My draft", "<p>x</p>"),
        article(mallory.base, mallory.id, draft_id, "My revision", "<p>x</p>"),
    ]
    sent = [await send(mallory, world, "Create", obj) for obj in tries]
    sent += [await send(mallory, world, "Join", project_id), await send(mallory, world, "Join", draft_id)]
    for activity in sent:
        refused = await inbox_state(world, activity["id"], "dead")
        assert "not an active member of this node's subtree" in refused["last_error"], refused
    assert await store.count_in_states(world.db.reader, ("open", "awaiting")) == 1
    assert [d.id for d in await store.drafts_of(world.db.reader, project_id)] == [draft_id]
    assert [r.number for r in await store.revisions_of(world.db.reader, draft_id)] == [1]
    assert not await store.is_member(world.db.reader, project_id, mallory.id)
    assert await store.count_signatories(world.db.reader, draft_id) == 0
    assert not [r for r in mallory.received if r.activity.get("type") in ("Accept", "Reject")]

    # Mallory signs as Alice (her own HTTP signature): refused at the door
    forged = alice.activity("Join", draft_id, to=[world.actor_id])
    status, body = await mallory.post(world.inbox, forged)
    assert status == 401 and "signed by" in body["error"], body
    # Alice's Create of an object on Mallory's server: refused at the door
    elsewhere = article(mallory.base, alice.id, project_id, "Not hers", "<p>x</p>")
    status, body = await alice.post(world.inbox, alice.activity("Create", elsewhere, to=[world.actor_id]))
    assert status == 400 and "not on its actor's host" in body["error"], body

    # signing twice counts once
    for _ in range(2):
        signing = await send(alice, world, "Join", draft_id)
        await inbox_state(world, signing["id"], "done")
    assert [s.actor for s in await store.signatories(world.db.reader, draft_id)] == [alice.id]

    # an Update or a Delete of the node's Articles by anyone else changes nothing
    status, before = await get_json(project_id)
    assert status == 200
    hijack = {"id": project_id, "type": "Article", "name": "Hijacked", "content": SCRIPT, "attributedTo": mallory.id}
    status, body = await mallory.post(world.inbox, mallory.activity("Update", hijack, to=[world.actor_id]))
    assert status == 400, body  # an object on another host than its actor
    with_proof = mallory.with_proof(mallory.activity("Update", hijack, to=[world.actor_id]))
    status, body = await mallory.post(world.inbox, with_proof)
    if status == 202:
        await done_or_dead(world, with_proof["id"])
    for actor, target in ((mallory, project_id), (alice, project_id), (mallory, draft_id), (bob, draft_id)):
        deleting = actor.activity("Delete", target, to=[world.actor_id])
        status, body = await actor.post(world.inbox, deleting)
        assert status == 202, body
        await done_or_dead(world, deleting["id"])
    status, after = await get_json(project_id)
    assert status == 200 and after == before
    status, draft_document = await get_json(draft_id)
    assert status == 200 and draft_document["type"] == "Article" and draft_document["name"] == "Draft A"
    project = await store.get_project(world.db.reader, project_id)
    assert project is not None and project.title == "A charter for all" and project.state == "open"

    # a Join of the region's project, sent to the international, joins nothing there
    _, region_project = await start(alice, region)
    joining = await send(alice, world, "Join", region_project)
    await done_or_dead(world, joining["id"])
    assert await store.get_project(world.db.reader, region_project) is None
    assert not await store.is_member(world.db.reader, region_project, alice.id)
    # a Create into the region's collection, sent to the international, makes nothing there
    creating = await send(
        alice, world, "Create",
        article(alice.base, alice.id, projects_of(region), "Misaddressed", "<p>x</p>", defaultOption="no"),
    )  # fmt: skip
    await done_or_dead(world, creating["id"])
    assert await store.count_in_states(world.db.reader, ("open", "awaiting")) == 1
    assert answers(alice, "Accept", creating["id"]) == []


async def test_script_in_what_members_write_is_shown_as_text(make_node, tmp_path, remote_actor):
    alice = await remote_actor("alice")
    nodes = await build(make_node, tmp_path, [alice.id])
    world = nodes["world"]
    obj = article(
        alice.base, alice.id, projects_of(world), f"Title {SCRIPT}", f"<p>Aim</p>{SCRIPT}<img src=x onerror=alert(2)>",
        defaultOption=f"as now {SCRIPT}",
    )  # fmt: skip
    created = await send(alice, world, "Create", obj)
    project_id = (await answered(alice, "Accept", created["id"]))["result"]
    texts = [f"<p>Text {SCRIPT}</p>", f"<p>Text two {SCRIPT}</p><a href='javascript:alert(3)'>x</a>"]
    target, draft_id = project_id, None
    for text in texts:
        created = await send(alice, world, "Create", article(alice.base, alice.id, target, f"Draft {SCRIPT}", text))
        draft_id = target = (await answered(alice, "Accept", created["id"]))["result"]
    assert draft_id is not None
    project = await store.get_project(world.db.reader, project_id)
    assert project is not None
    draft_uuid = draft_id.rsplit("/", 1)[-1]
    for path in (
        "/projects",
        f"/projects/{project.uuid}",
        f"/drafts/{draft_uuid}",
        f"/drafts/{draft_uuid}/revisions/1",
        f"/drafts/{draft_uuid}/diff?from=1&to=2",
    ):
        status, shown = await page(world, path)
        assert status == 200, (path, status)
        lowered = shown.lower()
        assert "<script>alert" not in lowered and "onerror=" not in lowered and "javascript:" not in lowered, path
    for object_id in (project_id, draft_id):
        status, document = await get_json(object_id)
        assert status == 200 and "<script" not in document["content"].lower()  # ``name`` is plain text (AS2)


async def test_a_withdrawn_signature_is_not_brought_back_by_its_join_again(make_node, tmp_path, remote_actor):
    alice, mallory = await remote_actor("alice"), await remote_actor("mallory")
    nodes = await build(make_node, tmp_path, [alice.id])
    world = nodes["world"]
    _, project_id = await start(alice, world)
    written = await send(alice, world, "Create", article(alice.base, alice.id, project_id, "Draft", "<p>One.</p>"))
    draft_id = (await answered(alice, "Accept", written["id"]))["result"]

    signing = alice.with_proof(alice.activity("Join", draft_id, to=[world.actor_id]))  # as a relay would carry it
    status, body = await alice.post(world.inbox, signing)
    assert status == 202, body
    await inbox_state(world, signing["id"], "done")
    leave = await send(alice, world, "Leave", draft_id)
    await inbox_state(world, leave["id"], "done")
    assert not await store.has_signed(world.db.reader, draft_id, alice.id)

    # Mallory relays Alice's Join again: the inbox knows it
    status, body = await mallory.post(world.inbox, signing)
    assert status == 202, body
    assert not await store.has_signed(world.db.reader, draft_id, alice.id)
    # ... and once the inbox forgot it (retention), the signature is still not brought back
    async with world.db.transaction() as conn:
        await conn.execute("DELETE FROM inbox_items WHERE activity_id = ?", (signing["id"],))
    status, body = await mallory.post(world.inbox, signing)
    assert status == 202, body
    refused = await inbox_state(world, signing["id"], "dead")
    assert "counted before: signing again takes a new activity" in refused["last_error"], refused
    assert not await store.has_signed(world.db.reader, draft_id, alice.id)
    assert await store.count_signatories(world.db.reader, draft_id) == 0
    # a new Join of hers signs again
    again = await send(alice, world, "Join", draft_id)
    await inbox_state(world, again["id"], "done")
    assert await store.has_signed(world.db.reader, draft_id, alice.id)


async def forget_and_relay(world, relay, activity: dict, wanted: str) -> dict:
    """``activity`` (carrying its actor's proof) relayed again by ``relay`` once the inbox forgot it."""
    async with world.db.transaction() as conn:
        await conn.execute("DELETE FROM inbox_items WHERE activity_id = ?", (activity["id"],))
    status, body = await relay.post(world.inbox, activity)
    assert status == 202, body
    return await inbox_state(world, activity["id"], wanted)


async def test_no_older_signing_activity_counts_again(make_node, tmp_path, remote_actor):
    """Sign, withdraw, sign, withdraw: the first Join (its actor's proof, relayed by anyone after the
    inbox forgot it) signs nothing; nor does an older Leave withdraw a newer signature."""
    alice, mallory = await remote_actor("alice"), await remote_actor("mallory")
    world = (await build(make_node, tmp_path, [alice.id]))["world"]
    _, project_id = await start(alice, world)
    written = await send(alice, world, "Create", article(alice.base, alice.id, project_id, "Draft", "<p>One.</p>"))
    draft_id = (await answered(alice, "Accept", written["id"]))["result"]
    sent = []
    for kind in ("Join", "Leave", "Join", "Leave"):
        activity = alice.with_proof(alice.activity(kind, draft_id, to=[world.actor_id]))
        status, body = await alice.post(world.inbox, activity)
        assert status == 202, body
        await inbox_state(world, activity["id"], "done")
        sent.append(activity)
    assert not await store.has_signed(world.db.reader, draft_id, alice.id)

    first_join, first_leave = sent[0], sent[1]
    refused = await forget_and_relay(world, mallory, first_join, "dead")
    assert "signature was refused: this activity was counted before" in refused["last_error"], refused
    assert await store.count_signatories(world.db.reader, draft_id) == 0

    signing = await send(alice, world, "Join", draft_id)  # her new Join signs
    await inbox_state(world, signing["id"], "done")
    refused = await forget_and_relay(world, mallory, first_leave, "dead")
    assert "not withdrawn: this activity was counted before" in refused["last_error"], refused
    assert [s.actor for s in await store.signatories(world.db.reader, draft_id)] == [alice.id]
    # the member is told why (her chapter keeps the first answer to an act), Mallory never
    await answered(alice, "Reject", first_leave["id"])
    assert not [r for r in mallory.received if r.activity.get("type") in ("Accept", "Reject")]

    # a Leave with nothing to withdraw is kept too: replayed after a new signature, it withdraws none
    withdrawing = await send(alice, world, "Leave", draft_id)
    await inbox_state(world, withdrawing["id"], "done")
    leaving = alice.with_proof(alice.activity("Leave", draft_id, to=[world.actor_id]))
    status, body = await alice.post(world.inbox, leaving)
    assert status == 202, body
    await inbox_state(world, leaving["id"], "done")
    signing = await send(alice, world, "Join", draft_id)
    await inbox_state(world, signing["id"], "done")
    assert await store.has_signed(world.db.reader, draft_id, alice.id)
    await forget_and_relay(world, mallory, leaving, "dead")
    assert await store.has_signed(world.db.reader, draft_id, alice.id)


async def test_what_one_member_writes_is_bounded(make_node, tmp_path, remote_actor):
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    nodes = await build(make_node, tmp_path, [alice.id, bob.id])
    world = nodes["world"]

    async def create(member, target: str, name: str, **extra) -> tuple[dict, dict]:
        """The member's Create into ``target``: the inbox item as it ended, and the Create."""
        sent = await send(member, world, "Create", article(member.base, member.id, target, name, "<p>t</p>", **extra))
        return await done_or_dead(world, sent["id"]), sent

    # projects open at once, per member
    async with world.db.transaction() as conn:
        for n in range(rules.MAX_OPEN_PROJECTS - 1):
            await store.insert_project(
                conn, project_id=f"{world.base_url}/objects/{uuid.uuid4()}", title=f"P{n}", aim="a",
                default_option="no", started_by=alice.id, opened=True, now=now(),
            )  # fmt: skip
    ended, _ = await create(alice, projects_of(world), "The last one", defaultOption="no")
    assert ended["state"] == "done", ended
    ended, sent = await create(alice, projects_of(world), "One too many", defaultOption="no")
    assert ended["state"] == "dead" and f"at most {rules.MAX_OPEN_PROJECTS}" in ended["last_error"], ended
    assert f"at most {rules.MAX_OPEN_PROJECTS}" in (await answered(alice, "Reject", sent["id"]))["content"]
    ended, _ = await create(bob, projects_of(world), "Bob's", defaultOption="no")
    assert ended["state"] == "done", ended  # another member is not held back
    project_id = (await store.projects_in_states(world.db.reader, ("open",), limit=1))[0].id

    # drafts per author, then per project
    join = await send(alice, world, "Join", project_id)
    await inbox_state(world, join["id"], "done")
    async with world.db.transaction() as conn:
        for n in range(rules.MAX_DRAFTS_PER_AUTHOR):
            await store.insert_draft(
                conn, draft_id=f"{world.base_url}/objects/{uuid.uuid4()}", project_id=project_id, title=f"A{n}",
                text="t", author=alice.id, now=now(),
            )  # fmt: skip
    ended, _ = await create(alice, project_id, "Alice's sixth")
    assert ended["state"] == "dead" and f"at most {rules.MAX_DRAFTS_PER_AUTHOR}" in ended["last_error"], ended
    async with world.db.transaction() as conn:
        for n in range(rules.MAX_DRAFTS - rules.MAX_DRAFTS_PER_AUTHOR - 1):
            await store.insert_draft(
                conn, draft_id=f"{world.base_url}/objects/{uuid.uuid4()}", project_id=project_id, title=f"O{n}",
                text="t", author=f"http://127.0.0.1:1/users/m{n}", now=now(),
            )  # fmt: skip
    ended, sent = await create(bob, project_id, "The last draft")
    assert ended["state"] == "done", ended
    last_draft = (await answered(bob, "Accept", sent["id"]))["result"]
    ended, _ = await create(bob, project_id, "One draft too many")
    assert ended["state"] == "dead" and f"at most {rules.MAX_DRAFTS} drafts" in ended["last_error"], ended
    assert len(await store.drafts_of(world.db.reader, project_id)) == rules.MAX_DRAFTS

    # revisions per draft
    async with world.db.transaction() as conn:
        for _ in range(rules.MAX_REVISIONS - 2):
            await store.revise_draft(conn, last_draft, title="R", text="t", author=bob.id, now=now())
    ended, _ = await create(bob, last_draft, "The last revision")
    assert ended["state"] == "done", ended
    ended, _ = await create(bob, last_draft, "One revision too many")
    assert ended["state"] == "dead" and f"at most {rules.MAX_REVISIONS} revisions" in ended["last_error"], ended
    assert len(await store.revisions_of(world.db.reader, last_draft)) == rules.MAX_REVISIONS


# --- a hostile parent --------------------------------------------------------------------


class ParentWithProjects(HostileGroup):
    """A hostile region whose actor names a ``projects`` collection it serves as the test says."""

    def actor_document(self, name: str) -> dict:
        return {**super().actor_document(name), "projects": f"{self.actor_id(name)}/projects"}


@pytest.fixture
async def overlord():
    group = await ParentWithProjects("overlord", "region").start()
    elsewhere = await HostileGroup("elsewhere", "chapter").start()
    yield group, elsewhere
    await elsewhere.stop()
    await group.stop()


async def test_a_hostile_parents_projects_are_shown_escaped_and_bounded(make_node, tmp_path, overlord):
    parent, elsewhere = overlord
    chapter = await make_node(config=tree_config(tmp_path, "chapter", "chapter"))
    status, body, _ = await publish(chapter, {"type": "Join", "object": parent.actor_id()})
    assert status == 201, body
    await parent.accept_child(chapter)

    async def linked():
        return (await get_json(chapter.actor_id))[1].get("parent") == parent.actor_id()

    await eventually(linked, timeout=15)

    collection = f"{parent.actor_id()}/projects"
    path = collection.split(parent.base, 1)[1]
    project_id = f"{parent.base}/objects/{uuid.uuid4()}"
    project = {
        "id": project_id,
        "type": "Article",
        "attributedTo": parent.actor_id(),
        "name": f"Charter {SCRIPT}",
        "content": f"<p>Aim</p>{SCRIPT}<img src=x onerror=alert(2)><a href='javascript:alert(3)'>x</a>",
        "defaultOption": f"no change {SCRIPT}",
        "url": "javascript:alert(4)",
        "drafts": collection,  # a loop: the projects collection again
        "replies": {"type": "Collection", "first": f"{elsewhere.base}/replies"},  # a page on another host
        "to": [PUBLIC],
    }
    elsewhere.serve("/replies", {"type": "CollectionPage", "items": [f"{elsewhere.base}/reply/1"]})
    elsewhere.serve("/reply/1", {"id": f"{elsewhere.base}/reply/1", "type": "Note", "inReplyTo": project_id})
    parent.serve(project_id.split(parent.base, 1)[1], project)
    others = [f"{elsewhere.base}/objects/{n}" for n in range(60)]  # by id on another host: never fetched
    many = [f"{parent.base}/objects/many-{n}" for n in range(5000)]
    parent.serve(
        path,
        {
            "id": collection,
            "type": "OrderedCollection",
            "first": collection,  # a page that is the collection itself
            "orderedItems": [project, *others, *many],
        },
    )

    status, shown = await page(chapter, "/projects")
    assert status == 200, shown[:500]
    assert "Charter" in shown
    status, project_page = await page(chapter, f"/projects/above?id={quote(project_id, safe='')}")
    assert status == 200, project_page[:500]
    for html in (shown, project_page):
        lowered = html.lower()
        assert "<script>alert" not in lowered and "onerror=" not in lowered and "javascript:" not in lowered
    assert elsewhere.fetched == [], elsewhere.fetched  # nothing off the parent's host
    fetched_many = [p for p in parent.fetched if "/objects/many-" in p]
    assert len(fetched_many) <= above.MAX_ITEMS, len(fetched_many)


# --- a slow child --------------------------------------------------------------------------


async def test_a_slow_child_delays_the_inbox_by_its_deadline_only(make_node, tmp_path, remote_actor):
    """A linked child that never answers who its members are (nor anything else) costs a member's
    signature one deadline (``subtree.deadline``), and a stranger's is kept for a retry, never counted."""
    from tests.integration.test_projects_federation import LyingChild

    alice, mallory = await remote_actor("alice"), await remote_actor("mallory")
    liar = await LyingChild().start()
    try:
        nodes = await build(make_node, tmp_path, [alice.id])
        world = nodes["world"]
        async with world.db.transaction() as conn:
            await link_store.request(
                conn, peer_id=liar.id, role="child", join_id=f"{liar.id}/join", level="region",
                inbox=f"{liar.id}/inbox", shared_inbox=None, collection=None, now=now(),
            )  # fmt: skip
            await link_store.set_state(conn, liar.id, "child", "linked", now())
        liar.answer, liar.delay = {"member": True}, subtree.ASK_SECONDS + 4
        _, project_id = await start(alice, world)  # found below the region, after the liar's deadline
        written = await send(alice, world, "Create", article(alice.base, alice.id, project_id, "D", "<p>t</p>"))
        draft_id = (await answered(alice, "Accept", written["id"]))["result"]
        stranger = await send(mallory, world, "Join", draft_id)
        began = asyncio.get_running_loop().time()
        signing = await send(alice, world, "Join", draft_id)  # alice's yes is kept: not asked again
        await inbox_state(world, signing["id"], "done")
        assert asyncio.get_running_loop().time() - began < subtree.ASK_SECONDS + 5
        row = await fetch_one(
            world.db.reader, "SELECT state, last_error FROM inbox_items WHERE activity_id = ?", (stranger["id"],)
        )
        assert row["state"] in ("queued", "claimed") or "could say" in (row["last_error"] or ""), dict(row)
        assert [s.actor for s in await store.signatories(world.db.reader, draft_id)] == [alice.id]
    finally:
        await liar.stop()
