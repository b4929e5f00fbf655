"""A project's qualifying drafts put to the vote and decided, on real nodes: the international node
``world`` with chapter ``a`` linked below it, members of ``a`` on one small server voting as Mastodon
does, the two nodes on one frozen clock.

The project, its drafts and their signatures are written with ``node.projects.store`` in the
world's database (the pages that make them are another part's); everything after that goes as it
does on a running node: the dashboard's button, the Survey down the tree, ballots at the chapter,
the decisions room's outcome, and the project decided from it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from federation.proofs import verify_actor_proof
from node.core.clock import FrozenClock, iso, to_epoch
from node.core.config import ProjectsConfig
from node.core.db import fetch_value
from node.decisions import store as decisions_store
from node.projects import rules, store, voting
from tests.support.c2s import eventually, get_json, publish
from tests.support.decisions import MemberHost, add_members, copy_questions, results
from tests.support.forms import browser_like_session, form_token, post_form
from tests.support.nodes import ADMIN_TOKEN
from tests.support.projects import project_with_drafts
from tests.support.tree import host_of, link, tree_config, tree_of, wait_linked

VOTE_DAYS = 0.01  # 14.4 minutes
TALLY_DAYS = 0.005


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


async def world_and_chapter(make_node, tmp_path, clock, host, *, put_to_vote: str = "admin", members: int = 5):
    """world <- a, with ``members`` members at a (reported up before anything is put to the vote)."""
    chapter = tree_config(tmp_path, "a", "chapter")
    world = tree_config(tmp_path, "world", "international", accept_children_from=(host_of(chapter.node),))
    settings = ProjectsConfig(signatory_quorum="2", put_to_vote=put_to_vote, vote_days=VOTE_DAYS, tally_days=TALLY_DAYS)
    nodes = {
        "world": await make_node(config=replace(world, projects=settings), clock=clock),
        "a": await make_node(config=chapter, clock=clock),
    }
    await add_members(nodes["a"], host, "a", members, since=to_epoch(clock.now()))
    assert (await link(nodes["a"], nodes["world"]))[0] == 201
    await wait_linked(nodes["a"], nodes["world"])

    async def reported():
        children = (await tree_of(nodes["world"]))["children"]
        return any((c.get("report") or {}).get("memberCount") == members for c in children)

    await eventually(reported, timeout=20)
    return nodes


async def admin_session(node):
    session = browser_like_session()
    status, _, _ = await post_form(session, node, "/login/admin", {"token": ADMIN_TOKEN}, allow_redirects=False)
    assert status == 303, status
    return session


async def press_vote(session, node, project_id: str, *, times: int = 1) -> list[tuple[int, str]]:
    """The dashboard's "Put to the vote" button of ``project_id``, pressed ``times`` on the same page."""
    path = f"/projects/{project_id.rsplit('/', 1)[-1]}/vote"
    async with session.get(f"{node.base_url}/admin") as response:
        token = form_token(await response.text(), path)
    return [await _post(session, f"{node.base_url}{path}", token) for _ in range(times)]


async def _post(session, url: str, token: str) -> tuple[int, str]:
    async with session.post(url, data={"csrf_token": token}) as response:
        return response.status, await response.text()


async def decisions_kept(node) -> int:
    return int(await fetch_value(node.db.reader, "SELECT COUNT(*) FROM decision_proposals") or 0)


async def test_the_admin_puts_a_qualifying_draft_to_the_vote_and_the_members_adopt_it(make_node, tmp_path, member_host):
    clock = FrozenClock()
    nodes = await world_and_chapter(make_node, tmp_path, clock, member_host)
    world, a = nodes["world"], nodes["a"]
    signers = [member_host.id(f"a{n}") for n in range(3)]
    project_id, (first, second) = await project_with_drafts(
        world, {"A short charter": signers[:2], "A long charter": signers[2:]}
    )
    assert await rules.quorum(world.db.reader, world.config) == 2
    assert await voting.after_signature(world.app, project_id, first) is True  # two signatories: qualified
    assert await voting.after_signature(world.app, project_id, second) is False  # one: not yet
    assert (await store.get_project(world.db.reader, project_id)).state == "open"  # "admin": the admin decides

    async with await admin_session(world) as admin:
        async with admin.get(f"{world.base_url}/admin") as response:
            dashboard = await response.text()
        assert "Projects ready for the vote" in dashboard and "Our charter" in dashboard
        assert "«A short charter»" in dashboard and "«A long charter»" not in dashboard

        async with browser_like_session() as stranger:  # not the admin: refused, nothing put to the vote
            path = f"{world.base_url}/projects/{project_id.rsplit('/', 1)[-1]}/vote"
            async with stranger.post(path, allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"].startswith("/login")
        assert await decisions_kept(world) == 0

        (status, _), (again, page) = await press_vote(admin, world, project_id, times=2)
        assert status == 200  # back on the dashboard
        project = await store.get_project(world.db.reader, project_id)
        assert project.state == "voting" and project.proposal_id
        assert again == 409 and "this project was put to the vote already" in page  # no second decision
        assert await decisions_kept(world) == 1

    drafts = {d.id: d for d in await store.drafts_of(world.db.reader, project_id)}
    assert drafts[first].state == "voting" and drafts[first].question_id
    assert drafts[second].state == "not_put" and drafts[second].question_id is None
    refusal = rules.draft_refusal(project, drafts[first])  # the text is frozen from now
    assert refusal is not None and "it takes no new drafts, revisions or signatures" in refusal
    assert await _revise(world, first) is None

    page = await project_page(world, project_id)
    assert 'data-state="voting"' in page and f'href="/decisions/{project.proposal_id.rsplit("/", 1)[-1]}"' in page
    assert "The members vote on each draft below against the default, until" in page

    served = (await get_json(project.proposal_id))[1]
    assert served["type"] == "Survey" and served["name"] == "Our charter"
    (question,) = served["orderedItems"]
    assert question["id"] == drafts[first].question_id and "«A short charter»" in question["content"]
    assert [o["name"] for o in question["oneOf"]] == ["This draft", "The default"]
    assert served["project"]["drafts"] == [{"id": first, "name": "A short charter"}]  # in the questions' order
    signed = (await decisions_store.get_proposal(world.db.reader, project.proposal_id)).document
    verify_actor_proof(signed, (await get_json(world.actor_id))[1])  # the composer's one proof covers the term

    copied = await copy_questions(a, project.proposal_id)  # the chapter's copy: a poll Mastodon votes on
    copy = (await get_json(copied[question["id"]]))[1]
    assert copy["type"] == "Question" and copy["attributedTo"] == a.actor_id
    assert [o["name"] for o in copy["oneOf"]] == ["This draft", "The default"]
    for number, choice in enumerate(["This draft", "This draft", "This draft", "The default"]):
        assert await member_host.vote(a, f"a{number}", copied[question["id"]], choice) == 202
    await a.settle()

    clock.advance(days=VOTE_DAYS, seconds=1)  # closed: the chapter's tally goes up, the outcome is decided

    async def decided():
        found = await store.get_project(world.db.reader, project_id)
        return found if found.state == "decided" else None

    project = await eventually(decided, timeout=30)
    assert project.adopted_draft == first
    # /results as JSON says first what the page shows first: the adopted draft, each draft's figures
    found = await results(world, project.proposal_id)
    assert found["status"] == "final" and found["meaning"] == {
        "type": "project",
        "project": project_id,
        "name": "Our charter",
        "result": "adopted",
        "adopted": {"id": first, "name": "A short charter"},
        "defaultOption": "Keep the statutes as they are.",
        "drafts": [{"id": first, "name": "A short charter", "question": question["id"], "for": 3, "against": 1}],
        "headline": "Project «Our charter»: «A short charter» adopted",
    }
    assert project.outcome["drafts"] == [
        {"draft": first, "question": question["id"], "for": 3, "against": 1},
    ]
    drafts = {d.id: d for d in await store.drafts_of(world.db.reader, project_id)}
    assert drafts[first].state == "adopted" and drafts[second].state == "not_put"
    assert "revisions or signatures" in rules.draft_refusal(project, drafts[first])

    page = await project_page(world, project_id)
    assert 'data-state="decided"' in page and f'data-adopted="{first}"' in page
    assert f'data-draft="{first}" data-for="3" data-against="1"' in page

    async with browser_like_session() as visitor, visitor.get(f"{world.base_url}/") as response:
        home = await response.text()
    assert "Adopted proposals" in home and f'href="/drafts/{first.rsplit("/", 1)[-1]}"' in home


async def project_page(node, project_id: str) -> str:
    async with browser_like_session() as visitor:
        async with visitor.get(f"{node.base_url}/projects/{project_id.rsplit('/', 1)[-1]}") as response:
            assert response.status == 200
            return await response.text()


async def _revise(node, draft_id: str):
    async with node.db.transaction() as conn:
        return await store.revise_draft(conn, draft_id, title="Changed", text="Changed.", author="x", now=2000.0)


async def test_with_put_to_vote_auto_the_vote_begins_at_the_quorum(make_node, tmp_path, member_host):
    clock = FrozenClock()
    nodes = await world_and_chapter(make_node, tmp_path, clock, member_host, put_to_vote="auto")
    world = nodes["world"]
    signer = member_host.id
    project_id, (first, second) = await project_with_drafts(world, {"One": [signer("a0")], "Two": [signer("a1")]})
    assert await voting.after_signature(world.app, project_id, first) is False
    assert (await store.get_project(world.db.reader, project_id)).state == "open"

    async with world.db.transaction() as conn:
        await store.sign(conn, second, signer("a2"), via="page", activity_id=None, now=1005.0)
    assert await voting.after_signature(world.app, project_id, second) is True
    project = await store.get_project(world.db.reader, project_id)
    assert project.state == "voting" and await decisions_kept(world) == 1
    drafts = {d.id: d for d in await store.drafts_of(world.db.reader, project_id)}
    assert drafts[second].state == "voting" and drafts[first].state == "not_put"
    assert await voting.after_signature(world.app, project_id, second) is False  # again: nothing more
    assert await decisions_kept(world) == 1

    # a draft qualified in the inbox (a Like), where nothing is published: the due work puts it to the vote
    other_id, (liked,) = await project_with_drafts(world, {"Liked": [signer("a3"), signer("a4")]})
    async with world.db.transaction() as conn:
        assert await store.mark_qualified(conn, liked, 1010.0)
    clock.advance(seconds=voting.AUTO_EVERY + 1)

    async def voting_too():
        return (await store.get_project(world.db.reader, other_id)).state == "voting"

    await eventually(voting_too, timeout=10)
    assert await decisions_kept(world) == 2


async def test_without_linked_branches_the_dashboard_says_why(make_node, tmp_path):
    world = await make_node(config=tree_config(tmp_path, "world", "international"))
    project_id, (first,) = await project_with_drafts(world, {"Alone": ["https://x.example/1"]})
    async with world.db.transaction() as conn:
        assert await store.mark_qualified(conn, first, 1001.0)
    async with await admin_session(world) as admin:
        ((status, page),) = await press_vote(admin, world, project_id)
    assert status == 422 and "this node has no linked branches" in page and "Projects ready for the vote" in page
    assert (await store.get_project(world.db.reader, project_id)).state == "open"
    assert await decisions_kept(world) == 0


async def test_a_proposal_keeps_the_terms_a_room_signs_with_it_and_only_those(make_node, tmp_path, member_host):
    """The decisions room's composer keeps a body's ``project`` term (``proposal.SIGNED_TERMS``) and
    signs it with the Survey, once: served and kept at the issuer as signed, received below with a
    proof that checks; any other term is dropped, a term that is no object is a 400, and an Update
    that changes it is a 422."""
    clock = FrozenClock()
    nodes = await world_and_chapter(make_node, tmp_path, clock, member_host, members=2)
    world, a = nodes["world"], nodes["a"]
    term = {
        "id": f"{world.base_url}/objects/{uuid.uuid4()}",
        "name": "Our charter",
        "defaultOption": "Keep the statutes.",
        "method": "largestMajorityOverDefault",
        "drafts": [{"id": f"{world.base_url}/objects/{uuid.uuid4()}", "name": "Short"}],
    }
    body = {
        "type": "Survey",
        "name": "Our charter",
        "endTime": iso(clock.now() + timedelta(minutes=10)),
        "orderedItems": [{"type": "Question", "content": "<p>Short?</p>", "oneOf": ["This draft", "The default"]}],
        "decision": {"weightMode": "ballots", "passThreshold": 0.5},
        "project": term,
        "flavour": {"not": "signed"},
    }
    status, answer, _ = await publish(world, body)
    assert status == 201, answer
    proposal_id = answer["object"]
    kept = await decisions_store.get_proposal(world.db.reader, proposal_id)
    assert kept is not None and kept.document["project"] == term and "flavour" not in kept.document
    status, actor = await get_json(world.actor_id)
    assert status == 200
    verify_actor_proof(kept.document, actor)  # signed with the term
    served = (await get_json(proposal_id))[1]
    assert served["project"] == term and served["proof"] == kept.document["proof"]

    async def received():
        return await decisions_store.get_proposal(a.db.reader, proposal_id)

    below = await eventually(received, timeout=20)  # the chapter checked the proof and kept it
    assert below.document["project"] == term and below.document["proof"] == kept.document["proof"]

    status, answer, _ = await publish(world, {**body, "project": "Our charter"})
    assert status == 400 and "project must be an object" in answer["error"], answer
    changed = {"id": proposal_id, "project": {**term, "name": "Another charter"}}
    status, answer, _ = await publish(world, {"type": "Update", "object": changed})
    assert status == 422 and "project never changes" in answer["error"], answer
