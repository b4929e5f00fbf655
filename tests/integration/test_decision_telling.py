"""What a chapter tells its members about a decision, in the chapter's own language.

A tree of real nodes on loopback (``tests.support.decisions.build_tree``) where chapter B publishes
in Simplified Chinese (``[node] language = "zh_Hans"``) and A in English. Members vote as Mastodon
does; what each chapter sends them (a receipt, a note that their ballot counts in another chapter)
arrives at their server, and the outcome becomes a news item on each chapter's site. Every one of
them names the decision by its question, never by its URL, and says the rest in the chapter's
language.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest

from node.core.clock import FrozenClock, iso, to_epoch
from node.core.db import fetch_all
from node.decisions import copy_store
from node.membership import members
from tests.support.c2s import eventually, publish
from tests.support.decisions import MemberHost, build_tree, copy_questions, final_results

QUESTION = "Adopt the charter?"


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


def _chinese(make_node, *chapters: str):
    """``make_node``, with ``chapters`` publishing in Simplified Chinese."""

    async def make(*, config, clock):
        if config.node.name in chapters:
            config = replace(config, node=replace(config.node, language="zh_Hans"))
        return await make_node(config=config, clock=clock)

    return make


def _words(html: str) -> str:
    """What a reader sees of a Note's content: its text, without the tags (and their hrefs)."""
    return " ".join(re.sub(r"<[^>]+>", "", html.replace("</p>", " ")).split())


def _notes_to(host: MemberHost, chapter, member: str) -> list[dict]:
    """The direct Notes ``chapter`` sent to ``member`` alone."""
    creates = [a for a in host.received if a.get("type") == "Create" and isinstance(a.get("object"), dict)]
    return [
        a["object"]
        for a in creates
        if a["object"].get("attributedTo") == chapter.actor_id and a["to"] == [host.id(member)]
    ]


async def _news(node) -> list[dict]:
    """The chapter's public Notes that have a title: its news items."""
    rows = await fetch_all(node.db.reader, "SELECT data FROM objects WHERE type = 'Note'")
    notes = [row["data"] if isinstance(row["data"], dict) else json.loads(row["data"]) for row in rows]
    return [n for n in notes if n.get("name") and "https://www.w3.org/ns/activitystreams#Public" in n.get("to", [])]


async def _page(url: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Accept": "text/html", "Accept-Language": "en"}) as response:
            assert response.status == 200, url
            return await response.text()


async def _tree_and_proposal(make_node, tmp_path, host: MemberHost, clock: FrozenClock):
    """The tree, B in Chinese; "dup" on A's roll (longer) and B's; the proposal, once B has excluded dup."""
    nodes = await build_tree(_chinese(make_node, "b"), tmp_path, clock, host, {"a": 2, "b": 2, "c": 1})
    joined = to_epoch(clock.now())
    for name, since in (("a", joined - 5 * 86400), ("b", joined - 60)):
        async with nodes[name].db.transaction() as conn:
            await members.upsert_member(conn, chapter=name, actor_id=host.id("dup"), state="active", now=since)
    body = {
        "type": "Question",
        "content": f"<p>{QUESTION}</p>",
        "oneOf": ["agree", "disagree"],
        "endTime": iso(clock.now() + timedelta(minutes=5)),
        "decision": {"passThreshold": 0.5},
    }
    status, answer, _ = await publish(nodes["world"], body)
    assert status == 201, answer
    proposal_id = answer["object"]

    async def excluded_at_b():
        row = await copy_store.roll_entry(nodes["b"].db.reader, proposal_id, host.id("dup"))
        return row is not None and row["excluded"] is not None

    await eventually(excluded_at_b, timeout=20)
    return nodes, proposal_id


async def _vote(host: MemberHost, nodes, proposal_id: str) -> None:
    """4 of 5 agree: a0, a1, b0 and c0; b1 disagrees; dup votes in B too, where it does not count."""
    for chapter, ballots in {"a": ["agree", "agree"], "b": ["agree", "disagree", "agree"], "c": ["agree"]}.items():
        question = (await copy_questions(nodes[chapter], proposal_id))[proposal_id]
        for number, option in enumerate(ballots):
            voter = f"{chapter}{number}" if number < 2 else "dup"
            assert await host.vote(nodes[chapter], voter, question, option) == 202
        await nodes[chapter].settle()


async def test_members_are_told_in_their_chapters_language_by_the_decisions_question(make_node, tmp_path, member_host):
    clock = FrozenClock()
    nodes, proposal_id = await _tree_and_proposal(make_node, tmp_path, member_host, clock)
    await _vote(member_host, nodes, proposal_id)
    b_copy = (await copy_store.copy_of(nodes["b"].db.reader, proposal_id))["copy_id"]

    receipt = (await eventually(lambda: _async(_notes_to, member_host, nodes["b"], "b0"), timeout=15))[0]
    said = _words(receipt["content"])
    assert f"你对“{QUESTION}”的投票已计入" in said and "请自己保管回执" in said, said
    assert re.search(r"<code>[0-9a-f]{32}</code>", receipt["content"]) and "http" not in said
    assert f'href="{b_copy}"' in receipt["content"] and f'href="{b_copy}/receipts/' in receipt["content"]
    assert list(receipt["contentMap"]) == ["zh-Hans"]
    english = (await eventually(lambda: _async(_notes_to, member_host, nodes["a"], "a0"), timeout=15))[0]
    said = _words(english["content"])
    assert (
        f"Your ballot on “{QUESTION}” is counted" in said
        and "Keep the receipt to yourself" in said
        and "http" not in said
    )

    told = await eventually(lambda: _async(_notes_to, member_host, nodes["b"], "dup"), timeout=15)
    said = _words(told[0]["content"])
    assert f"对于决议“{QUESTION}”，你的选票在那里计入一次" in said and "http" not in said, said
    assert proposal_id not in told[0]["content"]

    clock.advance(minutes=5, seconds=1)
    assert (await final_results(nodes["world"], proposal_id))["outcome"]["status"] == "passed"
    news = (await eventually(lambda: _news(nodes["b"]), timeout=20))[0]
    assert news["name"] == f"决议结果：{QUESTION}"
    said = _words(news["content"])
    assert f"整个组织对“{QUESTION}”的决议：通过（80% 同意）" in said and "查看结果" in said and "http" not in said
    assert f"<h1>决议结果：{QUESTION}</h1>" in await _page(news["id"])
    news = (await eventually(lambda: _news(nodes["a"]), timeout=20))[0]
    assert news["name"] == f"Outcome: {QUESTION}"
    said = _words(news["content"])
    assert f"The decision of the whole organisation on “{QUESTION}”: Passed (80% agree)" in said, said
    assert "See the results" in said and "http" not in said
    assert f"<h1>Outcome: {QUESTION}</h1>" in await _page(news["id"])


async def _async(function, *args):
    return function(*args)
