"""A project's whole journey on real nodes, its members acting from the fediverse as Mastodon's users do.

The tree: the international ``world`` <- ``region`` <- chapters ``a`` and ``b``, on one frozen clock.
Ana (a) and Bea (b) run on bovine-driven servers, an independent ActivityPub implementation that
signs what they send and checks what they are sent; Alex (a) and Ben (b) are loopback actors; Chen
has an account on ``a`` only and acts from ``a``'s pages (``/projects/above``), which send Chen's
Person's activities to the world. Each is admitted by their chapter's admin (the C2S ``Add``).
Mallory is nobody's member. The world takes a draft to the vote at 3 signatories, and its admin
puts projects to the vote with the dashboard's button.

Ana starts "Reimagining IOPS" at the world (a ``Create`` into its ``projects`` collection, answered
by an ``Accept`` whose ``result`` is the project); Bea joins. Ana writes draft 1, Chen revises it;
Bea writes draft 2, Ben revises it: the world's draft pages list each revision with its author, and
the diff between revisions 1 and 2 shows the change. Bea replies in the project's thread (a Note
``inReplyTo`` the project) and the world's project page shows it. Draft 1 is signed by Alex, Ben,
Bea and Chen, Ben withdraws (4 Joins, 1 Leave: 3 standing, from both chapters); it qualifies only
with the third standing signature. Draft 2 has one signature; Mallory's is not counted and never
answered. The admin's dashboard offers draft 1 only; its button puts it to the vote and draft 2 is
not put. Then a revision and a signature of draft 1 are refused with a ``Reject`` saying why. Ana
and Bea vote on their chapter's copy from their side (with Alex and Ben: 3 for draft 1, 1 for
"disband"), each gets a receipt the chapter signed; the clock passes the close: the world's project
page says draft 1 is adopted, its ``/results`` page puts the project's result first, and both
chapters' home pages carry the news naming it. Screenshots of the world's project page, draft 1,
the diff and the results at 1280 and 390 px in ``test-artifacts/screenshots/projects/journey-*``.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
from playwright.async_api import async_playwright

from node.core.clock import FrozenClock, iso
from node.core.config import ProjectsConfig
from node.decisions import copy_store
from node.projects import store
from tests.browser.conftest import CHROMIUM_FLAGS, chromium_path
from tests.browser.federation import browser_in
from tests.browser.test_project_pages import shots
from tests.integration.test_projects_above import above_page, answer_of, press
from tests.integration.test_projects_authoring import PUBLIC, answered, answers, article, inbox_state, page, send
from tests.integration.test_projects_vote import admin_session, press_vote
from tests.support.accounts import approved_account
from tests.support.c2s import eventually
from tests.support.decisions import copy_questions, final_results
from tests.support.forms import browser_like_session
from tests.support.polls import admin_adds_member, mastodon_vote
from tests.support.tree import host_of, link, tree_config, tree_of, wait_linked

VOTE_DAYS = 0.01  # 14.4 minutes of the frozen clock
TALLY_DAYS = 0.005
TITLE, DEFAULT = "Reimagining IOPS", "disband"
FIRST, SECOND = "A federation of chapters", "One worldwide assembly"
FOR, AGAINST = "This draft", "The default"
WENT_TO_THE_VOTE = "this project's drafts went to the vote: it takes no new drafts, revisions or signatures"


async def _tree(
    make_node, tmp_path, clock: FrozenClock, members: dict[str, list[str]]
) -> tuple[dict, aiohttp.ClientSession]:
    """world <- region <- (a, b); ``members`` admitted by each chapter's admin, and Chen signed in at a."""
    a, b = tree_config(tmp_path, "a", "chapter"), tree_config(tmp_path, "b", "chapter")
    region = tree_config(tmp_path, "region", "region", accept_children_from=(host_of(a.node), host_of(b.node)))
    world = tree_config(tmp_path, "world", "international", accept_children_from=(host_of(region.node),))
    settings = ProjectsConfig(signatory_quorum="3", vote_days=VOTE_DAYS, tally_days=TALLY_DAYS)
    configs = {"world": replace(world, projects=settings), "region": region, "a": a, "b": b}
    nodes = {name: await make_node(config=config, clock=clock) for name, config in configs.items()}
    for chapter, ids in members.items():
        for actor_id in ids:
            await admin_adds_member(nodes[chapter], actor_id)
    chen = browser_like_session()
    await approved_account(chen, nodes["a"], "chen", "Chen Li")
    assert (await link(nodes["region"], nodes["world"]))[0] == 201
    await wait_linked(nodes["region"], nodes["world"])
    for chapter in ("a", "b"):
        assert (await link(nodes[chapter], nodes["region"]))[0] == 201
        await wait_linked(nodes[chapter], nodes["region"])

    async def reported():
        (region_entry,) = (await tree_of(nodes["world"]))["children"]
        counts = {c["id"]: (c.get("report") or {}).get("memberCount") for c in region_entry["children"]}
        return counts == {nodes["a"].actor_id: len(members["a"]) + 1, nodes["b"].actor_id: len(members["b"])}

    await eventually(reported, timeout=20)
    return nodes, chen


def _answer_to(activity_id: str, kind: str):
    return lambda entry: entry["activity"]["type"] == kind and entry["activity"]["object"] == activity_id


async def _bovine(peer, world, activity: dict, kind: str = "Accept") -> dict:
    """``activity`` sent by the bovine ``peer`` to the world; the world's answer of ``kind``, checked by bovine."""
    sent = await peer.send(world.inbox, {"to": [world.actor_id], **activity})
    assert sent["status"] == 202, sent
    entry = await peer.wait_for(_answer_to(sent["activity"]["id"], kind), timeout=20)
    assert entry["verified"] and entry["signer"] == world.actor_id, entry
    return entry["activity"]


async def _loopback(actor, world, kind: str, obj, answer: str = "Accept") -> dict:
    """A loopback member's ``kind`` of ``obj``; the world's answer of ``answer``."""
    activity = await send(actor, world, kind, obj)
    return await answered(actor, answer, activity["id"])


async def _chen(chen, a, project_id: str, data: dict) -> None:
    """Chen acts from a's page of the world's project; a sends it as Chen's Person."""
    status, text, _ = await press(
        chen, a, above_page(project_id), "/projects/above/act", {"project": project_id, **data}
    )
    assert status == 200, text[:500]


async def _project(world, project_id: str) -> store.Project:
    found = await store.get_project(world.db.reader, project_id)
    assert found is not None
    return found


async def _qualified(world, draft_id: str) -> bool:
    found = await store.get_draft(world.db.reader, draft_id)
    assert found is not None
    return found.qualified_at is not None


def _uuid(object_id: str) -> str:
    return object_id.rsplit("/", 1)[-1]


def _between(text: str, start: str, end: str = "</section>") -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


async def test_a_project_from_its_start_at_the_international_to_its_outcome_in_every_chapter(
    make_node, tmp_path, bovine_peer, remote_actor
):
    clock = FrozenClock()
    ana, bea = await bovine_peer("ana"), await bovine_peer("bea")
    alex, ben, mallory = await remote_actor("alex"), await remote_actor("ben"), await remote_actor("mallory")
    nodes, chen = await _tree(make_node, tmp_path, clock, {"a": [ana.actor_id, alex.id], "b": [bea.actor_id, ben.id]})
    async with chen:
        await _journey(nodes, clock, chen, ana, bea, alex, ben, mallory)


async def _journey(nodes, clock, chen, ana, bea, alex, ben, mallory) -> None:
    world, a, b = nodes["world"], nodes["a"], nodes["b"]
    chen_id = f"{a.base_url}/users/chen"

    # Ana (a, on bovine) starts the project at the world; Bea (b, on bovine) joins it
    started = article(ana.base_url, ana.actor_id, f"{world.actor_id}/projects", TITLE,
                      "<p>Prepare proposals for changes to IOPS.</p>", defaultOption=DEFAULT)  # fmt: skip
    project_id = (await _bovine(ana, world, {"type": "Create", "object": started}))["result"]
    project = await _project(world, project_id)
    assert project.state == "open" and project.started_by == ana.actor_id
    assert (await _bovine(bea, world, {"type": "Join", "object": project_id}))["result"] == project_id

    # two drafts, each revised once by another member: Chen from a's pages, Ben from his server
    written = article(ana.base_url, ana.actor_id, project_id, FIRST,
                      "<p>Chapters decide together.</p><p>Each chapter sends two delegates.</p>")  # fmt: skip
    first = (await _bovine(ana, world, {"type": "Create", "object": written}))["result"]
    written = article(bea.base_url, bea.actor_id, project_id, SECOND, "<p>Every member votes in one assembly.</p>")
    second = (await _bovine(bea, world, {"type": "Create", "object": written}))["result"]
    await _chen(chen, a, project_id, {"act": "join"})
    await eventually(lambda: store.is_member(world.db.reader, project_id, chen_id), timeout=20)
    revise = f"/projects/above/write?draft={quote(first, safe='')}"
    revised = {"project": project_id, "draft": first, "title": FIRST,
               "text": "Chapters decide together.\n\nEach chapter sends three delegates, one of them drawn by lot."}  # fmt: skip
    status, text, _ = await press(chen, a, revise, "/projects/above/write", revised)
    assert status == 200, text[:500]
    await _loopback(ben, world, "Join", project_id)
    written = article(ben.base, ben.id, second, SECOND, "<p>Every member votes in one assembly, twice a year.</p>")
    assert (await _loopback(ben, world, "Create", written))["result"] == second

    async def revised_twice():
        return [len(await store.revisions_of(world.db.reader, d)) for d in (first, second)] == [2, 2]

    await eventually(revised_twice, timeout=20)
    for draft_id, authors in ((first, ("Ana", "Chen Li")), (second, ("Bea", "ben"))):
        revisions = _between(await page(world, f"/drafts/{_uuid(draft_id)}"), 'id="revisions-heading"')
        assert [part.split(" · ", 2)[1] for part in revisions.split("<li>")[1:]] == list(authors), revisions
    changes = await page(world, f"/drafts/{_uuid(first)}/diff?from=1&to=2")
    assert "sends <del>two delegates.</del><ins>three delegates, one of them drawn by lot.</ins>" in changes

    # Bea replies in the project's thread from her server: the world's project page shows it
    reply = {
        "id": f"{bea.base_url}/objects/{uuid.uuid4()}",
        "type": "Note",
        "attributedTo": bea.actor_id,
        "inReplyTo": project_id,
        "content": "<p>Three delegates is better than two.</p>",
        "published": iso(datetime.now(UTC)),
        "to": [PUBLIC],
        "cc": [world.actor_id],
    }
    sent = await bea.send(world.inbox, {"type": "Create", "object": reply, "to": [PUBLIC], "cc": [world.actor_id]})
    assert sent["status"] == 202, sent

    async def replied():
        thread = _between(await page(world, f"/projects/{project.uuid}"), 'id="thread-heading"')
        return "Three delegates is better than two." in thread and "Bea" in thread

    await eventually(replied, timeout=20)

    # draft 1: 4 Joins and 1 Leave from both chapters, 3 standing; it qualifies with the third standing one
    await _loopback(alex, world, "Join", first)
    await _loopback(ben, world, "Join", first)
    assert (await _loopback(ben, world, "Leave", first))["result"] == first
    await _bovine(bea, world, {"type": "Join", "object": first})
    assert not await _qualified(world, first)  # 2 standing of 3
    await _chen(chen, a, project_id, {"act": "sign", "draft": first})

    await eventually(lambda: _qualified(world, first), timeout=20)
    for kind in ("join", "revise", "sign"):  # a's pages keep what Chen sent and what the world answered
        assert (await answer_of(a, chen_id, kind)).answer == "accepted"
    await _bovine(ana, world, {"type": "Join", "object": second})  # draft 2: one signature
    stranger = await send(mallory, world, "Join", first)
    refused = await inbox_state(world, stranger["id"], "dead")
    assert "not an active member of this node's subtree: not counted" in refused["last_error"]
    standing = [s.actor for s in await store.signatories(world.db.reader, first)]
    assert sorted(standing) == sorted([alex.id, bea.actor_id, chen_id])
    assert [s.actor for s in await store.signatories(world.db.reader, second)] == [ana.actor_id]
    signed = _between(await page(world, f"/drafts/{_uuid(first)}"), 'id="signatories-heading"')
    assert "3 signatories · 3 needed for the vote" in signed and all(n in signed for n in ("alex", "Bea", "Chen Li"))

    # the admin's dashboard offers draft 1 only; its button puts it to the vote, draft 2 is not put
    async with await admin_session(world) as admin:
        async with admin.get(f"{world.base_url}/admin") as response:
            ready = _between(await response.text(), "Projects ready for the vote")
        assert f"«{FIRST}»" in ready and f"«{SECOND}»" not in ready
        ((status, _),) = await press_vote(admin, world, project_id)
        assert status == 200
    project = await _project(world, project_id)
    proposal_id = project.proposal_id
    assert proposal_id is not None
    drafts = {d.id: d for d in await store.drafts_of(world.db.reader, project_id)}
    assert project.state == "voting" and drafts[first].state == "voting" and drafts[second].state == "not_put"

    # after the vote began: a revision (Ana, on bovine) and a signature (Ben) refused, each told why
    late = article(ana.base_url, ana.actor_id, first, FIRST, "<p>Each chapter sends four delegates.</p>")
    rejected = await _bovine(ana, world, {"type": "Create", "object": late}, "Reject")
    assert html.unescape(rejected["content"]) == f"<p>{WENT_TO_THE_VOTE}</p>"
    rejected = await _loopback(ben, world, "Join", first, "Reject")
    assert html.unescape(rejected["content"]) == f"<p>the signature was refused: {WENT_TO_THE_VOTE}</p>"
    assert len(await store.revisions_of(world.db.reader, first)) == 2
    assert len(await store.signatories(world.db.reader, first)) == 3
    assert answers(mallory, "Accept", stranger["id"]) == answers(mallory, "Reject", stranger["id"]) == []

    # the members vote on their chapter's copy: Ana and Bea from bovine, Alex and Ben from theirs
    question = drafts[first].question_id
    assert question is not None
    copies = {name: (await copy_questions(nodes[name], proposal_id))[question] for name in ("a", "b")}
    for number, (voter, chapter, choice) in enumerate([(ana, "a", FOR), (bea, "b", FOR)], start=1):
        vote = mastodon_vote(voter.actor_id, copies[chapter], nodes[chapter].actor_id, choice, number)
        assert (await voter.send(nodes[chapter].inbox, vote))["status"] == 202
    for number, (voter, chapter, choice) in enumerate([(alex, "a", AGAINST), (ben, "b", FOR)], start=3):
        vote = mastodon_vote(voter.id, copies[chapter], nodes[chapter].actor_id, choice, number)
        assert (await voter.post(nodes[chapter].inbox, vote))[0] == 202
    for voter, chapter in ((ana, a), (bea, b)):  # each bovine voter's receipt, signed by its chapter (before the close)
        copy_id = (await copy_store.copy_of(chapter.db.reader, proposal_id))["copy_id"]

        def receipt(entry: dict, copy_id=copy_id) -> bool:
            note = entry["activity"].get("object")
            return isinstance(note, dict) and "receipt" in note.get("content", "") and copy_id in note["content"]

        entry = await voter.wait_for(receipt, timeout=20)
        assert entry["verified"] and entry["signer"] == chapter.actor_id, entry

    clock.advance(days=VOTE_DAYS, seconds=1)
    final = await final_results(world, proposal_id, within=40)
    assert [[o["count"] for o in q["options"]] for q in final["questions"]] == [[3, 1]], final

    async def decided():
        found = await _project(world, project_id)
        return found if found.state == "decided" else None

    project = await eventually(decided, timeout=30)
    assert project.adopted_draft == first
    assert project.outcome["drafts"] == [{"draft": first, "question": question, "for": 3, "against": 1}]

    # the outcome: the world's project page, its results, every chapter's home page
    shown = await page(world, f"/projects/{project.uuid}")
    assert 'data-state="decided"' in shown and f'data-adopted="{first}"' in shown and f"Adopted: «{FIRST}»" in shown
    assert f'data-draft="{first}" data-for="3" data-against="1"' in shown
    results = await page(world, f"/objects/{_uuid(proposal_id)}/results")
    headline = f"Project «{TITLE}»: «{FIRST}» adopted"
    assert headline in results and results.index('data-said="adopted"') < results.index("data-outcome=")
    for chapter in (a, b):

        async def told(chapter=chapter):
            return headline in await page(chapter, "/")

        await eventually(told, timeout=30)

    assert f'href="/drafts/{_uuid(first)}"' in _between(await page(world, "/"), "Adopted proposals")

    await _screenshots(world, project.uuid, proposal_id, first)


async def _screenshots(world, project: str, proposal_id: str, first: str) -> None:
    """The world's project page, draft 1 with its signatories, the diff, the results: at 1280 and 390 px."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            visitor = await browser_in(browser, "en-GB")
            for name, path in (
                ("journey-project", f"/projects/{project}"),
                ("journey-draft", f"/drafts/{_uuid(first)}"),
                ("journey-diff", f"/drafts/{_uuid(first)}/diff?from=1&to=2"),
                ("journey-results", f"/objects/{_uuid(proposal_id)}/results"),
            ):
                await visitor.goto(f"{world.base_url}{path}")
                await shots(visitor, name)
        finally:
            await browser.close()
