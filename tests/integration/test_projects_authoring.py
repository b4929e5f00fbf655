"""Members of the subtree who have no account at the international write its projects by ActivityPub.

A real tree, international <- region <- chapter. Alice and Bob (loopback actors) and Carol (on a
bovine-driven server) are approved members of the chapter only; Mallory is nobody's member. The
international asks down the tree who they are. Alice starts a project by a ``Create`` whose
``target`` is the international's ``projects`` collection and is answered with an ``Accept`` whose
``result`` is the project; the project page names her as its starter; a Create delivered again
makes nothing twice. She writes a draft, Bob joins and revises it, both revisions are shown with
their authors; a ``Join`` of the draft signs it, a ``Leave`` withdraws. A stranger's Create and Join
are kept dead with the reason and never answered. After the vote began, a revision and a signature
are refused with a ``Reject`` saying why. ``GET <actor>/projects`` lists the project.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aiohttp

from federation.jsonld import undefined_terms
from node.core.clock import to_epoch
from node.core.db import fetch_one
from node.projects import store
from tests.support.c2s import eventually, get_json
from tests.support.projects import three_levels

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"


async def build(make_node, tmp_path, member_ids: list[str]) -> dict:
    """world <- region <- chapter, whose members are ``member_ids`` (likes do not sign anywhere)."""
    return await three_levels(make_node, tmp_path, member_ids)


def projects_of(node) -> str:
    return f"{node.actor_id}/projects"


def article(base: str, actor_id: str, target: str, name: str, content: str, **extra) -> dict:
    """A member's Article created into ``target`` (its id on the member's own server)."""
    return {
        "id": f"{base}/objects/{uuid.uuid4()}",
        "type": "Article",
        "attributedTo": actor_id,
        "name": name,
        "content": content,
        "target": target,
        "to": [PUBLIC],
        **extra,
    }


async def send(actor, node, kind: str, obj) -> dict:
    activity = actor.activity(kind, obj, to=[node.actor_id])
    status, body = await actor.post(node.inbox, activity)
    assert status == 202, body
    return activity


async def inbox_state(node, activity_id: str, wanted: str) -> dict:
    async def reached():
        row = await fetch_one(
            node.db.reader, "SELECT state, last_error FROM inbox_items WHERE activity_id = ?", (activity_id,)
        )
        return dict(row) if row is not None and row["state"] == wanted else None

    return await eventually(reached, timeout=15)


def answers(actor, kind: str, activity_id: str) -> list[dict]:
    found = [received.activity for received in actor.received]
    return [a for a in found if a.get("type") == kind and a.get("object") == activity_id]


async def answered(actor, kind: str, activity_id: str) -> dict:
    async def came():
        found = answers(actor, kind, activity_id)
        return found[0] if found else None

    return await eventually(came, timeout=15)


async def page(node, path: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{node.base_url}{path}", headers={"Accept": "text/html"}) as response:
            assert response.status == 200, (path, response.status)
            return await response.text()


async def start(alice, world) -> tuple[dict, str]:
    obj = article(
        alice.base, alice.id, projects_of(world), "A charter for all", "<p>One <em>charter</em> for all chapters.</p>",
        defaultOption="no charter",
    )  # fmt: skip
    create = await send(alice, world, "Create", obj)
    await inbox_state(world, create["id"], "done")
    accept = await answered(alice, "Accept", create["id"])
    return create, accept["result"]


async def test_members_start_write_revise_and_sign_by_activitypub(make_node, tmp_path, remote_actor):
    alice, bob, mallory = await remote_actor("alice"), await remote_actor("bob"), await remote_actor("mallory")
    nodes = await build(make_node, tmp_path, [alice.id, bob.id])
    world = nodes["world"]

    create, project_id = await start(alice, world)
    project = await store.get_project(world.db.reader, project_id)
    assert project is not None and project.state == "open" and project.started_by == alice.id
    assert (project.title, project.aim, project.default_option) == (
        "A charter for all",
        "One charter for all chapters.",
        "no charter",
    )
    shown = await page(world, f"/projects/{project.uuid}")
    assert "A charter for all" in shown and "alice" in shown.split('data-field="starter"', 1)[1].split("</span>")[0]
    # the project's Article, as the node publishes it
    status, document = await get_json(project_id)
    assert status == 200 and document["defaultOption"] == "no charter" and document["drafts"] == f"{project_id}/drafts"
    assert undefined_terms(document) == []

    # delivered again, or sent again under a new activity id: nothing twice, answered once
    status, _ = await alice.post(world.inbox, create)
    assert status == 202
    again = await send(alice, world, "Create", create["object"])
    await inbox_state(world, again["id"], "done")
    assert await store.count_in_states(world.db.reader, ("open", "awaiting")) == 1
    assert answers(alice, "Accept", again["id"]) == []

    # Alice writes a draft (she joined by starting it); Bob joins and revises it
    draft_create = await send(
        alice, world, "Create", article(alice.base, alice.id, project_id, "Draft A", "<p>Article 1.</p>")
    )
    draft_id = (await answered(alice, "Accept", draft_create["id"]))["result"]
    join = await send(bob, world, "Join", project_id)
    await inbox_state(world, join["id"], "done")
    revision = await send(
        bob, world, "Create", article(bob.base, bob.id, draft_id, "Draft A", "<p>Article 1, amended.</p>")
    )
    assert (await answered(bob, "Accept", revision["id"]))["result"] == draft_id
    revisions = await store.revisions_of(world.db.reader, draft_id)
    assert [(r.number, r.author, r.text) for r in revisions] == [
        (1, alice.id, "Article 1."),
        (2, bob.id, "Article 1, amended."),
    ]
    draft_page = await page(world, f"/drafts/{draft_id.rsplit('/', 1)[-1]}")
    assert "alice" in draft_page and "bob" in draft_page and "Article 1, amended." in draft_page
    status, updated = await get_json(draft_id)
    assert status == 200 and "amended" in updated["content"] and updated["context"] == project_id

    # signatures: a Join of the draft signs it (likes do not sign here), a Leave withdraws
    for member in (alice, bob):
        signing = await send(member, world, "Join", draft_id)
        await inbox_state(world, signing["id"], "done")
        assert (await answered(member, "Accept", signing["id"]))["result"] == draft_id
    leave = await send(bob, world, "Leave", draft_id)
    await inbox_state(world, leave["id"], "done")
    signatories = await store.signatories(world.db.reader, draft_id)
    assert [(s.actor, s.via) for s in signatories] == [(alice.id, "activity")]

    # a stranger: kept dead with the reason, never answered
    strangers = [
        await send(
            mallory,
            world,
            "Create",
            article(mallory.base, mallory.id, projects_of(world), "Mine", "<p>x</p>", defaultOption="no"),
        ),
        await send(mallory, world, "Join", draft_id),
    ]
    for activity in strangers:
        refused = await inbox_state(world, activity["id"], "dead")
        assert "not an active member of this node's subtree" in refused["last_error"]
    assert not await store.has_signed(world.db.reader, draft_id, mallory.id)

    # the projects collection, named by the actor
    status, actor = await get_json(world.actor_id)
    assert status == 200 and actor["projects"] == projects_of(world) and undefined_terms(actor) == []
    status, collection = await get_json(projects_of(world))
    assert status == 200 and collection["type"] == "OrderedCollection" and collection["totalItems"] == 1
    status, first = await get_json(collection["first"])
    assert status == 200 and [item["id"] for item in first["orderedItems"]] == [project_id]
    assert first["orderedItems"][0]["defaultOption"] == "no charter" and undefined_terms(first) == []
    status, drafts = await get_json(f"{project_id}/drafts?page=1")
    assert status == 200 and [item["id"] for item in drafts["orderedItems"]] == [draft_id]

    # after the vote began: a revision and a signature refused, and the member told why
    async with world.db.transaction() as conn:
        assert await store.begin_vote(conn, project_id, f"{world.actor_id}/proposals/x", to_epoch(datetime.now(UTC)))
    late = [
        await send(bob, world, "Create", article(bob.base, bob.id, draft_id, "Draft A", "<p>Too late.</p>")),
        await send(bob, world, "Join", draft_id),
    ]
    for activity in late:
        refused = await inbox_state(world, activity["id"], "dead")
        assert "went to the vote" in refused["last_error"]
        reject = await answered(bob, "Reject", activity["id"])
        assert "went to the vote" in reject["content"] and reject["actor"] == world.actor_id
    assert [r.number for r in await store.revisions_of(world.db.reader, draft_id)] == [1, 2]
    assert not [r for r in mallory.received if r.activity.get("type") in ("Accept", "Reject")]


async def test_a_members_refused_writing_is_answered_with_the_reason(make_node, tmp_path, remote_actor):
    alice = await remote_actor("alice")
    nodes = await build(make_node, tmp_path, [alice.id])
    world = nodes["world"]
    _, project_id = await start(alice, world)
    cases = [
        (article(alice.base, alice.id, projects_of(world), "No default", "<p>aim</p>"), "the default"),
        (article(alice.base, alice.id, project_id, "", "<p>text</p>"), "a title is needed"),
        (article(alice.base, alice.id, project_id, "Empty", "<p> </p>"), "the text is empty"),
        (article(alice.base, alice.id, project_id, "Long", "x" * 100_001), "at most 100000 characters"),
        (article(alice.base, f"{alice.base}/users/eve", project_id, "Eve's", "<p>t</p>"), "attributed to the actor"),
        ({**article(alice.base, alice.id, project_id, "Q", "t"), "type": "Question"}, "an Article, a Note or a Page"),
    ]
    for obj, reason in cases:
        create = await send(alice, world, "Create", obj)
        refused = await inbox_state(world, create["id"], "dead")
        assert reason in refused["last_error"], (reason, refused)
        assert reason in (await answered(alice, "Reject", create["id"]))["content"]
    assert await store.drafts_of(world.db.reader, project_id) == []


async def test_a_bovine_member_starts_drafts_and_signs(make_node, tmp_path, bovine_peer):
    carol = await bovine_peer("carol")
    nodes = await build(make_node, tmp_path, [carol.actor_id])
    world = nodes["world"]

    async def create(target: str, name: str, content: str, **extra) -> tuple[str, dict]:
        obj = article(carol.base_url, carol.actor_id, target, name, content, **extra)
        sent = await carol.send(world.inbox, {"type": "Create", "object": obj, "to": [world.actor_id]})
        assert sent["status"] == 202, sent
        return sent["activity"]["id"], obj

    def answer_to(activity_id: str, kind: str):
        return lambda entry: entry["activity"]["type"] == kind and entry["activity"]["object"] == activity_id

    started, _ = await create(projects_of(world), "Open books", "<p>Publish the accounts.</p>", defaultOption="as now")
    accepted = await carol.wait_for(answer_to(started, "Accept"), timeout=20)
    assert accepted["verified"] and accepted["signer"] == world.actor_id
    project_id = accepted["activity"]["result"]
    project = await store.get_project(world.db.reader, project_id)
    assert project is not None and project.started_by == carol.actor_id

    written, _ = await create(project_id, "Quarterly", "<p>Every quarter.</p>")
    draft_id = (await carol.wait_for(answer_to(written, "Accept"), timeout=20))["activity"]["result"]
    sent = await carol.send(world.inbox, {"type": "Join", "object": draft_id, "to": [world.actor_id]})
    await inbox_state(world, sent["activity"]["id"], "done")
    assert await store.has_signed(world.db.reader, draft_id, carol.actor_id)
    sent = await carol.send(world.inbox, {"type": "Leave", "object": draft_id, "to": [world.actor_id]})
    await inbox_state(world, sent["activity"]["id"], "done")
    assert not await store.has_signed(world.db.reader, draft_id, carol.actor_id)

    untitled, _ = await create(draft_id, "", "<p>No title.</p>")
    rejected = await carol.wait_for(answer_to(untitled, "Reject"), timeout=20)
    assert rejected["verified"] and "a title is needed" in rejected["activity"]["content"]
