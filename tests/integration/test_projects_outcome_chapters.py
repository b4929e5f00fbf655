"""A project's outcome at every chapter, and reasons given with ballots, on real nodes.

The international node ``world`` with two chapters linked below it: ``a`` publishes in English, ``b``
in Simplified Chinese. A project of the world with two qualifying drafts goes to the vote; members of
both chapters vote as Mastodon does, and two local members of ``a`` vote on the copy's page, each with
a reason (one anonymous, one named). After the close every chapter's news item and home page name the
adopted draft in the chapter's language, the copy's page and the world's ``/results`` put the
project's result first, the reasons stay on the copy's page without saying how anyone voted, and a
reason changed after the close is refused.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

import pytest
from yarl import URL

from node.core.clock import FrozenClock, to_epoch
from node.core.config import ProjectsConfig
from node.core.db import fetch_all
from node.decisions import copy_store
from node.membership import accounts
from node.projects import outcome, store, voting
from tests.support.c2s import eventually, get_json
from tests.support.content import signed_in_local_member
from tests.support.decisions import MemberHost, add_members, copy_questions, final_results
from tests.support.forms import browser_like_session, form_token
from tests.support.projects import project_with_drafts
from tests.support.tree import host_of, link, tree_config, tree_of, wait_linked

VOTE_DAYS = 0.01  # 14.4 minutes
TALLY_DAYS = 0.005
SHORT, LONG = "A short charter", "A long charter"
FOR, AGAINST = "This draft", "The default"


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


async def _tree(make_node, tmp_path, clock, host):
    """world <- a (English: 4 members on ``host``, and maria and nadia with accounts here), b (Chinese: 2)."""
    a, b = tree_config(tmp_path, "a", "chapter"), tree_config(tmp_path, "b", "chapter")
    b = replace(b, node=replace(b.node, language="zh_Hans"))
    world = tree_config(tmp_path, "world", "international", accept_children_from=(host_of(a.node), host_of(b.node)))
    settings = ProjectsConfig(signatory_quorum="2", vote_days=VOTE_DAYS, tally_days=TALLY_DAYS)
    nodes = {
        "world": await make_node(config=replace(world, projects=settings), clock=clock),
        "a": await make_node(config=a, clock=clock),
        "b": await make_node(config=b, clock=clock),
    }
    await add_members(nodes["a"], host, "a", 4, since=to_epoch(clock.now()))
    await add_members(nodes["b"], host, "b", 2, since=to_epoch(clock.now()))
    cookies = {}
    for username, shown in (("maria", "Maria Lopez"), ("nadia", "Nadia Okafor")):
        async with nodes["a"].db.transaction() as conn:
            await accounts.insert_account(conn, username=username, display_name=shown, password_hash="-", now=0.0)
        cookies[username] = await signed_in_local_member(nodes["a"], username)
    for chapter in ("a", "b"):
        assert (await link(nodes[chapter], nodes["world"]))[0] == 201
        await wait_linked(nodes[chapter], nodes["world"])

    async def reported():
        counts = {
            c["id"]: (c.get("report") or {}).get("memberCount") for c in (await tree_of(nodes["world"]))["children"]
        }
        return counts == {nodes["a"].actor_id: 6, nodes["b"].actor_id: 2}

    await eventually(reported, timeout=20)
    return nodes, cookies


async def _project(world, signers: list[str]) -> tuple[str, str, str]:
    """The world's project "Our charter" with two drafts, each signed by two members: both qualify."""
    project_id, drafts = await project_with_drafts(world, {SHORT: signers[0:2], LONG: signers[2:4]})
    for draft_id in drafts:
        assert await voting.after_signature(world.app, project_id, draft_id) is True
    return project_id, drafts[0], drafts[1]


def _session(node, cookie: dict):
    session = browser_like_session()
    session.cookie_jar.update_cookies({cookie["name"]: cookie["value"]}, URL(node.base_url))
    return session


async def _post_on_copy(node, cookie: dict, page: str, action: str, data: dict) -> tuple[int, str]:
    """A signed-in member fills in a form of the copy's page (``action``: ballot or reason)."""
    async with _session(node, cookie) as session:
        async with session.get(f"{node.base_url}{page}") as response:
            text = await response.text()  # after the close there is no form, but the session's token is there
            token = form_token(text, f"{page}/{action}") or form_token(text)
        async with session.post(
            f"{node.base_url}{page}/{action}", data={"csrf_token": token, **data}, allow_redirects=False
        ) as response:
            return response.status, await response.text()


async def _get(url: str, language: str = "en-GB") -> str:
    async with browser_like_session() as visitor:
        async with visitor.get(url, headers={"Accept": "text/html", "Accept-Language": language}) as response:
            assert response.status == 200, url
            return await response.text()


def _section(page: str, marker: str) -> str:
    return page.split(marker, 1)[1].split("</section>", 1)[0]


async def _news(node, headline: str) -> dict | None:
    rows = await fetch_all(node.db.reader, "SELECT data FROM objects WHERE type = 'Note'")
    notes = [json.loads(row["data"]) for row in rows]
    found = [n for n in notes if n.get("name") == headline]
    return found[0] if found else None


def _words(content: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", content).split()))


async def test_every_chapter_tells_the_adopted_draft_and_the_copy_keeps_its_members_reasons(
    make_node, tmp_path, member_host
):
    clock = FrozenClock()
    nodes, cookies = await _tree(make_node, tmp_path, clock, member_host)
    world, a, b = nodes["world"], nodes["a"], nodes["b"]
    project_id, short, long = await _project(world, [member_host.id(f"a{n}") for n in range(4)])
    proposal_id = await voting.put_to_vote(world.app, await store.get_project(world.db.reader, project_id))

    served = (await get_json(proposal_id))[1]  # the Survey says, signed with it, which project it decides
    asked = [q["id"] for q in served["orderedItems"]]
    texts = [q["content"] for q in served["orderedItems"]]  # each draft in the order of its question
    assert len(texts) == 2 and SHORT in texts[0] and LONG in texts[1]
    assert served["project"] == {
        "id": project_id,
        "name": "Our charter",
        "defaultOption": "Keep the statutes as they are.",
        "method": outcome.METHOD,
        "drafts": [
            {"id": short, "name": SHORT},
            {"id": long, "name": LONG},
        ],
    }
    copied = {name: await copy_questions(nodes[name], proposal_id) for name in ("a", "b")}  # the proof checked
    ballots = {
        "a": [(FOR, AGAINST), (FOR, AGAINST), (AGAINST, FOR), (FOR, AGAINST)],
        "b": [(FOR, FOR), (AGAINST, AGAINST)],
    }
    for chapter, chosen in ballots.items():
        for number, answers in enumerate(chosen):
            for question, choice in zip(asked, answers, strict=True):
                vote = await member_host.vote(nodes[chapter], f"{chapter}{number}", copied[chapter][question], choice)
                assert vote == 202
        await nodes[chapter].settle()

    page = "/decisions/" + (await copy_store.copy_of(a.db.reader, proposal_id))["copy_id"].rsplit("/", 1)[-1]
    form = await _get(f"{a.base_url}{page}")  # signed out: no form; the reasons' section is there
    assert "Reasons given" in form and "No member has given a reason yet." in form
    status, said = await _post_on_copy(
        a, cookies["nadia"], page, "ballot", {"q0": FOR, "q1": FOR, "reason": "x" * 1001}
    )
    assert status == 400 and "a reason has at most 1000 characters" in said  # nothing counted
    status, said = await _post_on_copy(
        a, cookies["maria"], page, "ballot", {"q0": FOR, "q1": AGAINST, "reason": "Shorter is <b>clearer</b>."}
    )
    assert status == 200 and "Your vote is counted" in said and re.search(r'<code class="receipt">[0-9a-f]{32}', said)
    status, said = await _post_on_copy(
        a,
        cookies["nadia"],
        page,
        "ballot",
        {"q0": FOR, "q1": FOR, "reason": "Both would do; the short one first.", "named": "1"},
    )
    assert status == 200 and "Your vote is counted" in said
    status, _ = await _post_on_copy(
        a, cookies["maria"], page, "reason", {"reason": "Shorter is <b>clearer</b>, and fairer."}
    )
    assert status == 303  # changed, until the close

    reasons = _section(await _get(f"{a.base_url}{page}"), 'id="reasons-heading"')
    assert "Shorter is &lt;b&gt;clearer&lt;/b&gt;, and fairer." in reasons and "<b>clearer" not in reasons
    assert "A member" in reasons and "Maria" not in reasons and "Nadia Okafor" in reasons
    assert reasons.count("<li") == 2 and FOR not in reasons and AGAINST not in reasons  # never beside a choice

    clock.advance(days=VOTE_DAYS, seconds=1)
    final = await final_results(world, proposal_id, within=40)
    assert [[o["count"] for o in q["options"]] for q in final["questions"]] == [[6, 2], [3, 5]], final
    meaning = final["meaning"]  # the JSON says first what the page shows first
    assert meaning["result"] == "adopted" and meaning["adopted"] == {"id": short, "name": SHORT}, meaning
    assert [(d["id"], d["for"], d["against"]) for d in meaning["drafts"]] == [(short, 6, 2), (long, 3, 5)]

    async def decided():
        found = await store.get_project(world.db.reader, project_id)
        return found if found.state == "decided" else None

    assert (await eventually(decided, timeout=30)).adopted_draft == short
    status, said = await _post_on_copy(a, cookies["nadia"], page, "reason", {"reason": "Too late?", "named": "1"})
    assert status == 409 and "the vote has closed: a reason can no longer be given or changed" in said

    english = "Project «Our charter»: «A short charter» adopted"
    news = await eventually(lambda: _news(a, english), timeout=30)
    told = _words(news["content"])
    assert "«A short charter»: 6 for the draft, 2 for the default" in told and "See the results" in told, told
    assert "«A long charter»: 3 for the draft, 5 for the default" in told and "8 of 8 members took part" in told
    assert english in await _get(f"{a.base_url}/")
    chinese = "项目«Our charter»：«A short charter»获得通过"
    news = await eventually(lambda: _news(b, chinese), timeout=30)
    assert "«A short charter»：6 票支持该草案，2 票支持默认方案" in _words(news["content"])
    assert list(news["contentMap"]) == ["zh-Hans"]
    assert chinese in await _get(f"{b.base_url}/", "zh-CN")

    copy_page = await _get(f"{a.base_url}{page}")  # the project's result first, then the counts
    box = _section(copy_page, 'id="outcome-heading"')
    assert f'data-said="adopted" data-adopted="{short}"' in box and english in box
    assert box.index(english) < box.index("data-outcome=") < box.index("Here and everywhere")
    assert "Nadia Okafor" in _section(copy_page, 'id="reasons-heading"')
    results = await _get(f"{proposal_id}/results")
    assert results.index('data-said="adopted"') < results.index("data-outcome=") < results.index("The counts")
    assert english in results and "«A long charter»: 3 for the draft, 5 for the default" in results
    assert chinese in await _get(f"{proposal_id}/results", "zh-CN")
