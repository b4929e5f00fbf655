"""Proportional decisions across real nodes on loopback: an international node, two regions, three chapters.

Chapters A (100 members), B (50) and C (30): A and B under region r1, C under r2, all under
the international node ``world``, which issues each proposal by C2S. Members live on one
small server (``tests.support.decisions.MemberHost``) and vote as Mastodon does; the whole
tree shares one frozen clock, moved past ``endTime`` by the test, while the workers run.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import sys
from datetime import timedelta

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from node.content import interactions
from node.core.clock import FrozenClock, iso, to_epoch
from node.core.db import fetch_all, fetch_one
from node.decisions import copy_store, leaves, received, verify
from node.decisions.ballots import COUNTED_ELSEWHERE, NOT_ON_ROLL
from node.membership import members
from node.polls import model as polls
from tests.support.c2s import eventually, get_json, publish
from tests.support.content import signed_in_local_member
from tests.support.decisions import MemberHost, add_members, build_tree, copy_questions, final_results, results
from tests.support.forms import browser_like_session, form_token
from tests.support.polls import mastodon_vote
from tests.support.tree import link, wait_linked, wait_unlinked

POLICY = {
    "passThreshold": 0.5,
    "blockShare": 0.1,
    "chapterQuorum": 0.2,
    "rollQuorum": 0.5,
    "turnoutQuorum": 0.25,
}
OPTIONS = ["agree", "abstain", "disagree", "block"]
SIZES = {"a": 100, "b": 50, "c": 30}


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


async def issue(world, clock, *, decision=None, options=OPTIONS, kind="oneOf", minutes=5) -> str:
    body = {
        "type": "Question",
        "content": "<p>Adopt the charter?</p>",
        kind: options,
        "endTime": iso(clock.now() + timedelta(minutes=minutes)),
        "decision": {**POLICY, **(decision or {})},
    }
    status, answer, _ = await publish(world, body)
    assert status == 201, answer
    return answer["object"]


async def cast(host, node, question_id: str, prefix: str, counts: dict[str, int], start: int = 0) -> int:
    """``counts[option]`` members of ``prefix`` vote ``option`` (members numbered from ``start``)."""
    number = start
    for option, many in counts.items():
        for _ in range(many):
            assert await host.vote(node, f"{prefix}{number}", question_id, option) == 202
            number += 1
    return number


async def vote_everywhere(host, nodes, proposal_id, ballots: dict[str, dict[str, int]]) -> None:
    for chapter, counts in ballots.items():
        copied = await copy_questions(nodes[chapter], proposal_id)
        await cast(host, nodes[chapter], copied[proposal_id], chapter, counts)
    for chapter in ballots:
        await nodes[chapter].settle()


async def rolls_up(world, *proposal_ids: str, chapters: int = 3) -> None:
    """Every chapter's roll of each proposal is kept at the top before the test moves the clock past the
    close: a tally that overtakes its chapter's roll waits for a retry, and a frozen clock never brings it."""
    for proposal_id in proposal_ids:

        async def kept(proposal_id=proposal_id):
            return len(await received.roll_sizes(world.db.reader, proposal_id)) == chapters

        await eventually(kept, timeout=20)


async def test_ballots_mode_passes_end_to_end(make_node, tmp_path, member_host):
    """Scenario 1: A 40/5/15/0, B 10/0/20/0, C 6/0/4/0: 100 of 180 voted, agree 56/95: passed."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, SIZES)
    proposal_id = await issue(nodes["world"], clock)
    ballots = {
        "a": {"agree": 40, "abstain": 5, "disagree": 15},
        "b": {"agree": 10, "disagree": 20},
        "c": {"agree": 6, "disagree": 4},
    }
    await vote_everywhere(member_host, nodes, proposal_id, ballots)
    assert (await results(nodes["world"], proposal_id))["status"] == "open"
    clock.advance(minutes=5, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    assert final["outcome"]["status"] == "passed", final
    assert final["electorate"] == 180 and final["voters"] == 100
    options = {o["name"]: o["count"] for o in final["questions"][0]["options"]}
    assert options == {"agree": 56, "abstain": 5, "disagree": 39, "block": 0}
    assert final["questions"][0]["votersCount"] == 100
    chapters = [c for region in final["branches"] for c in region["children"]]
    assert {c["status"] for c in chapters} == {"reported"} and all("participation" not in c["tally"] for c in chapters)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{proposal_id}/results", headers={"Accept": "text/html"}) as response:
            page = await response.text()
    assert response.status == 200 and 'data-outcome="passed"' in page and 'data-count="56"' in page
    served = (await get_json(proposal_id))[1]
    assert served["closed"] and served["votersCount"] == 100 and served["oneOf"][0]["replies"]["totalItems"] == 56

    async def told_members():  # each chapter's news item: the question as its title, in the chapter's language
        rows = await fetch_all(nodes["c"].db.reader, "SELECT data FROM objects WHERE type = 'Note'")
        notes = [json.loads(row["data"]) for row in rows]
        return [n for n in notes if "The decision of the whole organisation" in n.get("content", "")]

    news = (await eventually(told_members, timeout=15))[0]
    assert news["name"] == "Outcome: Adopt the charter?" and "charter?</a>”: Passed (58.9% agree)" in news["content"]
    assert proposal_id not in news["content"].replace(f"{proposal_id}/results", "")  # no raw URL as its words


async def decide(host, nodes, clock, ballots, *, decision=None, minutes=5) -> dict:
    proposal_id = await issue(nodes["world"], clock, decision=decision, minutes=minutes)
    await vote_everywhere(host, nodes, proposal_id, ballots)
    clock.advance(minutes=minutes, seconds=1)
    return await final_results(nodes["world"], proposal_id)


async def test_weight_modes_weights_and_block_decide(make_node, tmp_path, member_host):
    """Scenarios 2, 3 and 11 on one tree, one proposal each (the same members vote on each)."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, SIZES)
    ids = {name: nodes[name].actor_id for name in SIZES}
    # 2: A 25 agree, B 40 disagree, C silent
    two = {"a": {"agree": 25}, "b": {"disagree": 40}, "c": {}}
    ballots = await decide(member_host, nodes, clock, two)
    assert ballots["outcome"]["status"] == "failed", ballots["outcome"]
    shares = await decide(member_host, nodes, clock, two, decision={"weightMode": "chapterShare"})
    assert shares["outcome"]["status"] == "passed", shares["outcome"]
    assert shares["signedOutcome"]["result"]["weighted"] == {
        "agree": 100.0,
        "abstain": 0.0,
        "disagree": 50.0,
        "block": 0.0,
    }
    # 3: issuer weights 1, 0.5, 0.5
    three = {"a": {"agree": 30, "disagree": 10}, "b": {"agree": 5, "disagree": 25}, "c": {"agree": 5, "disagree": 15}}
    plain = await decide(member_host, nodes, clock, three)
    assert plain["outcome"]["status"] == "failed" and round(plain["outcome"]["agreement"], 3) == 0.444
    weights = {ids["a"]: 1, ids["b"]: 0.5, ids["c"]: 0.5}
    weighted = await decide(member_host, nodes, clock, three, decision={"weights": weights})
    assert weighted["outcome"]["status"] == "passed" and round(weighted["outcome"]["agreement"], 3) == 0.538
    # 11: 70 agree, 18 disagree, 12 block
    blocked = await decide(member_host, nodes, clock, {"a": {"agree": 70, "disagree": 18, "block": 12}})
    assert blocked["outcome"]["status"] == "blocked", blocked["outcome"]


async def test_a_proposal_is_immutable_and_needs_a_subtree(make_node, tmp_path, member_host):
    """An Update changing options, policy or times is 422; a node without children cannot issue."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 2}, under={"r1": ["a"]})
    await add_members(nodes["r1"], member_host, "regional", 2)  # a region's own members are in no electorate
    proposal_id = await issue(nodes["world"], clock)
    await copy_questions(nodes["a"], proposal_id)
    assert await copy_store.copy_of(nodes["r1"].db.reader, proposal_id) is None  # so no copy takes their ballots
    for change in ({"decision": {"passThreshold": 0.9}}, {"oneOf": ["yes", "no"]}, {"endTime": iso(clock.now())}):
        status, body, _ = await publish(nodes["world"], {"type": "Update", "object": {"id": proposal_id, **change}})
        assert status == 422, body
    status, body, _ = await publish(
        nodes["a"],
        {
            "type": "Question",
            "content": "x",
            "oneOf": OPTIONS,
            "endTime": iso(clock.now() + timedelta(minutes=5)),
            "decision": {},
        },
    )
    assert status == 422 and "no linked branches" in body["error"], body


SCENARIO_ONE = {
    "a": {"agree": 40, "abstain": 5, "disagree": 15},
    "b": {"agree": 10, "disagree": 20},
    "c": {"agree": 6, "disagree": 4},
}


async def _offline_run(make_node, tmp_path, member_host, offline: str) -> dict:
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, SIZES)
    await nodes[offline].stop()
    deadline = iso(clock.now() + timedelta(minutes=7))
    proposal_id = await issue(nodes["world"], clock, decision={"tallyDeadline": deadline})
    online = {name: counts for name, counts in SCENARIO_ONE.items() if name != offline}
    await vote_everywhere(member_host, nodes, proposal_id, online)
    clock.advance(minutes=5, seconds=1)
    await eventually(lambda: _reported(nodes["world"], proposal_id, len(online)), timeout=20)
    clock.advance(minutes=2, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    statuses = {c["id"]: c["status"] for region in final["branches"] for c in region["children"]}
    assert statuses[nodes[offline].actor_id] == "not reporting"
    return final


async def _reported(world, proposal_id: str, how_many: int) -> bool:
    kept = await received.tallies(world.db.reader, proposal_id)
    return len([t for t in kept if t["status"] == "reported"]) >= how_many


async def test_a_chapter_offline_for_the_whole_vote(make_node, tmp_path, member_host):
    """Scenario 5: C offline: not reporting, 150 of 180 report, the result stands."""
    final = await _offline_run(make_node, tmp_path, member_host, "c")
    assert final["electorate"] == 180 and final["voters"] == 90
    assert final["outcome"]["status"] == "passed", final["outcome"]


async def test_the_largest_chapter_offline_misses_the_roll_quorum(make_node, tmp_path, member_host):
    """Scenario 5: A offline instead: 80 of 180 on reporting rolls, under 50%: no quorum."""
    final = await _offline_run(make_node, tmp_path, member_host, "a")
    assert final["outcome"]["status"] == "no quorum" and "roll quorum" in final["outcome"]["reason"]


async def test_late_ballots_and_late_tallies(make_node, tmp_path, member_host):
    """Scenario 9: a ballot one second after endTime is logged, not counted; a tally after tallyDeadline is rejected."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 4, "b": 2, "c": 2})
    first = await issue(nodes["world"], clock)
    copied = await copy_questions(nodes["a"], first)
    clock.advance(minutes=5, seconds=1)
    assert await member_host.vote(nodes["a"], "a0", copied[first], "agree") == 202
    await nodes["a"].settle()
    row = await fetch_one(
        nodes["a"].db.reader, "SELECT counted, reason FROM poll_ballots WHERE question_id = ?", (copied[first],)
    )
    assert row["counted"] == 0 and row["reason"] == "after close"
    deadline = iso(clock.now() + timedelta(minutes=6))
    second = await issue(nodes["world"], clock, decision={"tallyDeadline": deadline})
    copied = await copy_questions(nodes["a"], second)
    assert await member_host.vote(nodes["a"], "a1", copied[second], "agree") == 202
    clock.advance(minutes=7)  # endTime and tallyDeadline both pass before any chapter can send its tally

    async def rejected_late():
        kept = await received.get_tally(nodes["r1"].db.reader, second, nodes["a"].actor_id)
        return kept if kept is not None else None

    kept = await eventually(rejected_late, timeout=20)
    assert kept["status"] == "refused" and kept["reason"].startswith("late"), dict(kept)
    assert await eventually(lambda: _told(nodes["a"], second, "late: the tally arrived after"), timeout=15)
    final = await final_results(nodes["world"], second)
    assert final["outcome"]["status"] == "no quorum"


def _receipt_of(host: MemberHost, chapter: str, member: str) -> str:
    """The receipt ``member`` of ``chapter`` was sent: a direct Note to them alone, never public."""
    for activity in host.received:
        note = activity.get("object") if activity.get("type") == "Create" else None
        if isinstance(note, dict) and note.get("attributedTo") == chapter and "receipt" in note.get("content", ""):
            if note["to"] != [host.id(member)]:
                continue
            assert activity["to"] == [host.id(member)] and not note.get("cc") and not activity.get("cc")
            found = re.search(r"<code>([0-9a-f]+)</code>", note["content"])
            if found:
                return found.group(1)
    raise AssertionError("no receipt was sent")


async def test_receipts_verify_after_the_close_and_a_changed_leaf_does_not(make_node, tmp_path, member_host):
    """Scenario 12: a member's receipt (one per voter and proposal) verifies against the signed root once the
    vote has closed; before, neither the leaves nor the proof are served (they would tell who just voted how);
    the leaves are in canonical order; a changed leaf does not verify; an unknown receipt is 404."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 4, "b": 3, "c": 3})
    proposal_id = await issue(nodes["world"], clock)
    await vote_everywhere(member_host, nodes, proposal_id, {"a": {"agree": 2, "disagree": 1}})
    receipt = await eventually(lambda: _async(_receipt_of, member_host, nodes["a"].actor_id, "a0"), timeout=15)
    a_copy = await copy_store.copy_of(nodes["a"].db.reader, proposal_id)
    for path in ("leaves", f"receipts/{receipt}"):
        status, body = await get_json(f"{a_copy['copy_id']}/{path}", accept="application/json")
        assert status == 404 and "once the vote has closed" in body["error"], body
    clock.advance(minutes=5, seconds=1)
    await final_results(nodes["world"], proposal_id)
    a_copy = await copy_store.copy_of(nodes["a"].db.reader, proposal_id)
    proof_url = f"{a_copy['copy_id']}/receipts/{receipt}"
    notes = [a.get("object", {}).get("content", "") for a in member_host.received if a.get("type") == "Create"]
    assert any(proof_url in content for content in notes), (proof_url, notes)  # where its proof is
    status, served = await get_json(f"{a_copy['copy_id']}/leaves", accept="application/json")
    assert status == 200 and served["totalItems"] == 3
    commitments = [entry["commitment"] for entry in served["orderedItems"]]
    assert commitments == sorted(commitments) and all("voter" not in e for e in served["orderedItems"])
    async with aiohttp.ClientSession() as session, session.get(proof_url) as response:
        proof = await response.json()
        assert response.headers["Cache-Control"] == "private, no-store"
    signed_a = json.loads(a_copy["tally"])
    assert proof["merkleRoot"] == signed_a["merkleRoot"] and proof["leaf"]["answers"][proposal_id][0] in OPTIONS
    assert leaves.verify_receipt(proof["leaf"], proof["index"], proof["size"], proof["proof"], signed_a["merkleRoot"])
    other = "disagree" if proof["leaf"]["answers"][proposal_id] == ["agree"] else "agree"
    changed = {**proof["leaf"], "answers": {proposal_id: [other]}}
    assert not leaves.verify_receipt(changed, proof["index"], proof["size"], proof["proof"], signed_a["merkleRoot"])
    async with aiohttp.ClientSession() as session, session.get(proof_url, headers={"Accept": "text/html"}) as response:
        assert response.status == 200 and 'data-verified="true"' in await response.text()
    status, _ = await get_json(f"{a_copy['copy_id']}/receipts/{'0' * 32}", accept="application/json")
    assert status == 404


async def _async(function, *args):
    try:
        return function(*args)
    except AssertionError:
        return None


async def _told(node, proposal_id: str, why: str):
    copy = await copy_store.copy_of(node.db.reader, proposal_id)
    return copy is not None and why in (copy["rejected"] or "")


async def test_a_member_on_two_rolls_is_counted_once(make_node, tmp_path, member_host):
    """Scenario 4: a member on the rolls of A (a membership days older) and B is resolved on the rolls, before
    counting: the issuer's signed exclusions keep them in A; B refuses their ballot, and tells them why; the
    electorate is 179; no tally carries anything per voter."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 99, "b": 49, "c": 30})
    shared = member_host.id("dup")
    joined = to_epoch(clock.now())
    for name, since in (("a", joined - 5 * 86400), ("b", joined - 60)):
        async with nodes[name].db.transaction() as conn:
            await members.upsert_member(conn, chapter=name, actor_id=shared, state="active", now=since)
    proposal_id = await issue(nodes["world"], clock)

    async def excluded_at_b():
        row = await copy_store.roll_entry(nodes["b"].db.reader, proposal_id, shared)
        return row is not None and row["excluded"] is not None

    await eventually(excluded_at_b, timeout=20)
    ballots = {"a": {"agree": 10}, "b": {"disagree": 10}, "c": {"agree": 1}}
    await vote_everywhere(member_host, nodes, proposal_id, ballots)
    for name, choice in (("a", "agree"), ("b", "disagree")):
        question = (await copy_questions(nodes[name], proposal_id))[proposal_id]
        assert await member_host.vote(nodes[name], "dup", question, choice) == 202
        await nodes[name].settle()
    b_question = (await copy_questions(nodes["b"], proposal_id))[proposal_id]
    assert ("dup", "disagree", 0, COUNTED_ELSEWHERE) in await _ballots(nodes["b"], b_question)
    told = [a["object"] for a in member_host.received if a.get("type") == "Create" and a.get("to") == [shared]]
    assert any("counts there, once" in note.get("content", "") for note in told), told
    clock.advance(minutes=5, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    options = {o["name"]: o["count"] for o in final["questions"][0]["options"]}
    assert final["electorate"] == 179, final["electorate"]
    assert options["agree"] == 12 and options["disagree"] == 10 and final["voters"] == 22, final
    b_tally = next(c["tally"] for r in final["branches"] for c in r["children"] if c["id"] == nodes["b"].actor_id)
    assert b_tally["excludedMembers"] == 1 and b_tally["rollSize"] == 49 and b_tally["exclusions"] >= 1
    assert not {"rollTags", "participation"} & set(b_tally)


async def test_a_seven_question_survey_adds_up_question_by_question(make_node, tmp_path, member_host):
    """Scenario 13: a 7-question survey (one anyOf, questions skipped by some voters) issued at the top:
    the totals there equal what the members sent, question by question; votersCount is the distinct voters."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 6, "b": 4, "c": 3})
    items = [{"type": "Question", "content": f"<p>Question {n}</p>", "oneOf": ["yes", "no"]} for n in range(6)]
    items.insert(3, {"type": "Question", "content": "<p>Which days?</p>", "anyOf": ["mon", "tue", "wed"]})
    survey = {
        "type": "Survey",
        "name": "Members' survey",
        "content": "<p>Seven questions.</p>",
        "endTime": iso(clock.now() + timedelta(minutes=5)),
        "orderedItems": items,
        "decision": {},
    }
    status, answer, _ = await publish(nodes["world"], survey)
    assert status == 201, answer
    proposal_id = answer["object"]
    _POSITIONS[proposal_id] = [q["id"] for q in (await get_json(proposal_id))[1]["orderedItems"]]
    sent: dict[int, dict[str, int]] = {n: {} for n in range(7)}
    voters = set()
    for chapter, many in (("a", 6), ("b", 3), ("c", 2)):  # not every member votes; each skips some questions
        copied = await copy_questions(nodes[chapter], proposal_id)
        questions = [copied[q] for q in sorted(copied, key=lambda q: _position(nodes["world"], proposal_id, q))]
        for member in range(many):
            name = f"{chapter}{member}"
            for number, question in enumerate(questions):
                if (member + number) % 3 == 2:
                    continue  # skipped
                choices = (
                    ["mon", "wed"]
                    if number == 3 and member % 2
                    else ["tue"]
                    if number == 3
                    else ["yes" if member % 2 else "no"]
                )
                for choice in choices:
                    assert await member_host.vote(nodes[chapter], name, question, choice) == 202
                    sent[number][choice] = sent[number].get(choice, 0) + 1
                voters.add(name)
        await nodes[chapter].settle()
    await rolls_up(nodes["world"], proposal_id)
    clock.advance(minutes=5, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    assert final["outcome"]["status"] == "survey"  # opinions: nothing passes or fails
    for number, question in enumerate(final["questions"]):
        assert {o["name"]: o["count"] for o in question["options"] if o["count"]} == sent[number], number
    assert final["voters"] == len(voters) == 11
    served = (await get_json(proposal_id))[1]
    assert served["votersCount"] == 11 and served["closed"]


_POSITIONS: dict[str, list[str]] = {}


def _position(world, proposal_id: str, question: str) -> int:
    return _POSITIONS[proposal_id].index(question)


async def _ballots(node, question_id: str) -> list[tuple]:
    """Every ballot the chapter kept on its copy: (member, choice, counted, reason), by member.

    Sorted: a batch's counted ballots are stored in one statement, then its refusals, so the
    table's order is not the order they arrived in (which ballot counted shows that)."""
    rows = await polls.ballots_of(node.db.reader, question_id)
    return sorted((row["voter"].rsplit("/", 1)[1], row["choice"], row["counted"], row["reason"]) for row in rows)


def _counts(final: dict, number: int = 0) -> dict[str, int]:
    return {o["name"]: o["count"] for o in final["questions"][number]["options"]}


async def test_forged_off_roll_and_unknown_option_ballots(make_node, tmp_path, member_host):
    """Scenario 7: a ballot signed by the wrong key is refused with 401; a ballot from someone not on the
    frozen roll (joined after the copy opened, or never a member) is not counted; an unknown option with
    content is kept as a plain reply; only the one good ballot reaches the top."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 4, "b": 2, "c": 2})
    a = nodes["a"]
    proposal_id = await issue(nodes["world"], clock)
    question = (await copy_questions(a, proposal_id))[proposal_id]
    forged = mastodon_vote(member_host.id("a0"), question, a.actor_id, "agree", 90)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert await member_host.post("a0", a.inbox, forged, key=other) == 401
    await add_members(a, member_host, "late", 1)  # active now, but not on the roll frozen at opening
    assert await member_host.vote(a, "late0", question, "agree") == 202
    assert await member_host.vote(a, "stranger", question, "agree") == 202
    reply = mastodon_vote(member_host.id("a1"), question, a.actor_id, "maybe", 91)
    reply["object"]["content"] = "<p>maybe, after the summer</p>"
    assert await member_host.post("a1", a.inbox, reply) == 202
    assert await member_host.vote(a, "a2", question, "agree") == 202
    await a.settle()
    assert await _ballots(a, question) == [
        ("a2", "agree", 1, None),
        ("late0", "agree", 0, NOT_ON_ROLL),
        ("stranger", "agree", 0, NOT_ON_ROLL),
    ]
    kept = await interactions.get_reply(a.db.reader, reply["object"]["id"])
    assert kept is not None and kept["inReplyTo"] == question and "after the summer" in kept["content"]
    clock.advance(minutes=5, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    assert _counts(final) == {"agree": 1, "abstain": 0, "disagree": 0, "block": 0}
    assert final["voters"] == 1 and final["electorate"] == 8


async def test_repeated_redelivered_and_any_of_ballots(make_node, tmp_path, member_host):
    """Scenario 8: on oneOf a second ballot is not counted; the same activity delivered twice counts once;
    on anyOf, ballots {A, B} (chapter A), {A} (chapter B) and {C} (chapter C) give 2/1/1 and votersCount 3."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 4, "b": 2, "c": 2})
    a = nodes["a"]
    one = await issue(nodes["world"], clock)
    status, answer, _ = await publish(
        nodes["world"],
        {
            "type": "Question",
            "content": "<p>Which days?</p>",
            "anyOf": ["A", "B", "C"],
            "endTime": iso(clock.now() + timedelta(minutes=5)),
            "decision": {},
        },
    )
    assert status == 201, answer
    many = answer["object"]
    question = (await copy_questions(a, one))[one]
    assert await member_host.vote(a, "a0", question, "agree") == 202
    assert await member_host.vote(a, "a0", question, "disagree") == 202  # a second ballot
    twice = mastodon_vote(member_host.id("a1"), question, a.actor_id, "disagree", 92)
    assert await member_host.post("a1", a.inbox, twice) == 202
    assert await member_host.post("a1", a.inbox, twice) in (200, 202)  # the same activity again
    await a.settle()
    assert await _ballots(a, question) == [
        ("a0", "agree", 1, None),
        ("a0", "disagree", 0, "repeated: already voted"),
        ("a1", "disagree", 1, None),
    ]
    for chapter, member, choices in (("a", "a2", ["A", "B"]), ("b", "b0", ["A"]), ("c", "c0", ["C"])):
        copied = (await copy_questions(nodes[chapter], many))[many]
        for choice in choices:
            assert await member_host.vote(nodes[chapter], member, copied, choice) == 202
        await nodes[chapter].settle()
    clock.advance(minutes=5, seconds=1)
    final = await final_results(nodes["world"], one)
    assert _counts(final) == {"agree": 1, "abstain": 0, "disagree": 1, "block": 0} and final["voters"] == 2
    final = await final_results(nodes["world"], many)
    assert _counts(final) == {"A": 2, "B": 1, "C": 1}
    assert final["questions"][0]["votersCount"] == 3 and final["voters"] == 3
    served = (await get_json(many))[1]
    assert served["closed"] and served["votersCount"] == 3
    assert [o["replies"]["totalItems"] for o in served["anyOf"]] == [2, 1, 1]


async def test_late_links_are_out_and_leavers_stay_in_the_denominator(make_node, tmp_path, member_host):
    """Scenario 10: chapter D, linked after the proposal opened, is not in the electorate; chapter B,
    which leaves its region mid-vote, stays in the denominator as not reporting."""
    clock = FrozenClock()
    sizes = {"a": 4, "b": 3, "c": 2, "d": 5}
    under = {"r1": ["a", "b", "d"], "r2": ["c"]}
    nodes = await build_tree(make_node, tmp_path, clock, member_host, sizes, under=under, later=("d",))
    deadline = iso(clock.now() + timedelta(minutes=7))
    proposal_id = await issue(nodes["world"], clock, decision={"tallyDeadline": deadline})
    assert (await link(nodes["d"], nodes["r1"]))[0] == 201
    await wait_linked(nodes["d"], nodes["r1"])
    await copy_questions(nodes["b"], proposal_id)
    status, body, _ = await publish(nodes["b"], {"type": "Leave", "object": nodes["r1"].actor_id})
    assert status == 201, body
    await wait_unlinked(nodes["b"], nodes["r1"])
    await vote_everywhere(member_host, nodes, proposal_id, {"a": {"agree": 3}, "b": {"disagree": 3}, "c": {"agree": 1}})
    clock.advance(minutes=5, seconds=1)
    await eventually(lambda: _reported(nodes["world"], proposal_id, 2), timeout=20)
    clock.advance(minutes=2, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    statuses = {c["id"]: c["status"] for region in final["branches"] for c in region["children"]}
    assert statuses == {
        nodes["a"].actor_id: "reported",
        nodes["b"].actor_id: "not reporting",
        nodes["c"].actor_id: "reported",
    }
    assert final["electorate"] == 9 and final["voters"] == 4, final
    assert _counts(final) == {"agree": 4, "abstain": 0, "disagree": 0, "block": 0}
    assert await copy_store.copy_of(nodes["d"].db.reader, proposal_id) is None


async def _vote_on_page(node, cookie: dict, question_id: str, choice: str) -> tuple[int, str, dict]:
    """A signed-in member votes on the copy's page as a browser does: the form's CSRF token, then the POST."""
    page_path = "/polls/" + question_id.rsplit("/", 1)[-1]
    async with browser_like_session() as session:
        session.cookie_jar.update_cookies({cookie["name"]: cookie["value"]}, URL(node.base_url))
        async with session.get(f"{node.base_url}{page_path}") as response:
            text = await response.text()  # the copy's page (/decisions/...): a member off the roll has no form,
            token = form_token(text, f"{page_path}/vote") or form_token(text)  # but the session's token is there
        async with session.post(
            f"{node.base_url}{page_path}/vote", data={"csrf_token": token, "choice": choice}, allow_redirects=False
        ) as response:
            return response.status, await response.text(), dict(response.headers)


async def test_a_member_voting_on_the_copys_page_is_counted_and_shown_a_receipt(make_node, tmp_path, member_host):
    """A member without a fediverse account votes on the chapter's page: the frozen roll decides, the
    page shows their receipt once (not in a URL), the vote counts at the top, and the receipt verifies."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 2, "b": 1, "c": 1})
    maria = await signed_in_local_member(nodes["a"], "maria")  # a member before the proposal opens
    proposal_id = await issue(nodes["world"], clock)
    question = (await copy_questions(nodes["a"], proposal_id))[proposal_id]
    newcomer = await signed_in_local_member(nodes["a"], "nadia")  # joined after the roll was frozen
    status, page, headers = await _vote_on_page(nodes["a"], maria, question, "agree")
    assert status == 200 and "Your vote is counted" in page and headers["Cache-Control"] == "no-store", page
    receipt = re.search(r'<code class="receipt">([0-9a-f]{32})</code>', page).group(1)
    status, page, _ = await _vote_on_page(nodes["a"], newcomer, question, "agree")
    assert status == 403 and NOT_ON_ROLL in page
    assert await member_host.vote(nodes["a"], "a0", question, "disagree") == 202
    await nodes["a"].settle()
    clock.advance(minutes=5, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    assert {o["name"]: o["count"] for o in final["questions"][0]["options"]} == {
        "agree": 1,
        "abstain": 0,
        "disagree": 1,
        "block": 0,
    }
    assert final["voters"] == 2 and final["electorate"] == 5  # 2 + maria in A, 1 in B, 1 in C
    a_copy = await copy_store.copy_of(nodes["a"].db.reader, proposal_id)
    status, proof = await get_json(f"{a_copy['copy_id']}/receipts/{receipt}", accept="application/json")
    assert status == 200 and proof["leaf"]["answers"] == {proposal_id: ["agree"]}, proof
    root = json.loads(a_copy["tally"])["merkleRoot"]
    assert leaves.verify_receipt(proof["leaf"], proof["index"], proof["size"], proof["proof"], root)


def _seen(page: str) -> str:
    """What a reader sees of a page: its text, tags and layout aside."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


async def _results_page(proposal_id: str, language: str) -> str:
    headers = {"Accept": "text/html", "Accept-Language": language}
    async with aiohttp.ClientSession() as session, session.get(f"{proposal_id}/results", headers=headers) as response:
        assert response.status == 200
        return await response.text()


async def test_a_survey_says_each_questions_leading_answer_and_a_proposal_still_passes_or_fails(
    make_node, tmp_path, member_host, capsys
):
    """A survey asks for opinions: even with the composer's pass threshold and block share, each question's
    result is its most chosen answer (100% for one option is that option, chosen; a tie is a tie), never
    "passed" or "not passed", in both languages, after the outcome; a proposal decided at the same time
    still fails against its threshold and says "Not passed"."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 3, "b": 2, "c": 1})
    asked = [
        ("How often should chapters meet?", ["Weekly", "Monthly"]),
        ("Where should the congress be?", ["Lima", "London", "Paris"]),
        ("Nobody answers this one?", ["Yes", "No"]),
    ]
    survey = {
        "type": "Survey",
        "name": "Members' survey",
        "content": "<p>Three questions.</p>",
        "endTime": iso(clock.now() + timedelta(minutes=5)),
        "orderedItems": [{"type": "Question", "content": f"<p>{text}</p>", "oneOf": o} for text, o in asked],
        "decision": {"passThreshold": 0.5, "blockShare": 0.1},
    }
    status, answer, _ = await publish(nodes["world"], survey)
    assert status == 201, answer
    survey_id = answer["object"]
    proposal_id = await issue(nodes["world"], clock, options=["agree", "disagree"])
    asked_ids = [q["id"] for q in (await get_json(survey_id))[1]["orderedItems"]]
    for asked_id in asked_ids:  # the embedded Questions answer at their own ids
        status, served = await get_json(asked_id)
        assert status == 200 and served["type"] == "Question" and served["id"] == asked_id, served
    copied = await copy_questions(nodes["a"], survey_id)
    for member, place in enumerate(("Lima", "London", None)):
        assert await member_host.vote(nodes["a"], f"a{member}", copied[asked_ids[0]], "Weekly") == 202
        if place:
            assert await member_host.vote(nodes["a"], f"a{member}", copied[asked_ids[1]], place) == 202
    await vote_everywhere(member_host, nodes, proposal_id, {"a": {"agree": 1, "disagree": 2}})
    assert all("outcome" not in question for question in (await results(nodes["world"], survey_id))["questions"])
    await rolls_up(nodes["world"], survey_id, proposal_id)
    clock.advance(minutes=5, seconds=1)

    final = await final_results(nodes["world"], survey_id)
    assert final["outcome"]["status"] == "survey" and final["outcome"]["agreement"] is None, final["outcome"]
    said = [(q["outcome"]["status"], q["outcome"]["leading"], q["outcome"]["leadingShare"]) for q in final["questions"]]
    assert said == [("survey", ["Weekly"], 1.0), ("survey", ["Lima", "London"], 0.5), ("survey", [], None)], said
    english = _seen(await _results_page(survey_id, "en-GB"))
    assert "Most chosen: Weekly (100%)" in english and "A tie: Lima and London, with 50% each" in english
    assert "No one answered this question." in english
    assert "Survey: the members' opinions, nothing passes or fails" in english and "This is a survey" in english
    assert "passed" not in english.lower() and "It passes when" not in english and "blocked if" not in english
    assert english.index("Most chosen") < english.index("The rules") < english.index("The counts")
    assert english.count("How often should chapters meet?") == 1  # the question once, in the counts
    chinese = _seen(await _results_page(survey_id, "zh-CN"))
    assert "最多人选择：Weekly（100%）" in chinese and "并列：Lima和London，各占 50%" in chinese
    assert "问卷：征询成员的意见，不涉及通过与否" in chinese and "未通过" not in chinese
    assert (await _verify(survey_id, capsys))[0] == 0  # anyone redoes the leading answers from the documents

    decided = await final_results(nodes["world"], proposal_id)
    assert decided["outcome"]["status"] == "failed" and "leading" not in decided["questions"][0]["outcome"]
    english = _seen(await _results_page(proposal_id, "en-GB"))
    assert "Not passed · 33.3% agree" in english and "It passes when at least 50%" in english
    assert "未通过" in _seen(await _results_page(proposal_id, "zh-CN"))


async def _verify(proposal_id: str, capsys) -> tuple[int, str]:
    code = await verify.run(proposal_id, allow_private=True)
    return code, capsys.readouterr().out


async def test_anyone_verifies_a_final_decision_and_each_tampered_document_fails(
    make_node, tmp_path, member_host, capsys
):
    """`chapterhouse verify` agrees with /results on an honest run (the real command, as a user runs it),
    and fails on a changed leaf, a changed tally and a changed outcome, each served as public documents."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 4, "b": 3, "c": 2})
    proposal_id = await issue(nodes["world"], clock)
    await vote_everywhere(member_host, nodes, proposal_id, {"a": {"agree": 3}, "b": {"disagree": 1}})
    clock.advance(minutes=5, seconds=1)
    final = await final_results(nodes["world"], proposal_id)
    command = [sys.executable, "-m", "node.cli", "verify", proposal_id, "--allow-private-addresses"]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out = (await process.communicate())[0].decode()
    assert process.returncode == 0 and "VERIFIED" in out, out
    assert final["outcome"]["status"] in out and nodes["a"].actor_id in out
    a_copy = await copy_store.copy_of(nodes["a"].db.reader, proposal_id)
    honest = a_copy["leaves"]
    changed = json.loads(honest)
    changed[0]["answers"][proposal_id] = ["disagree"]
    async with nodes["a"].db.transaction() as conn:
        await conn.execute(
            "UPDATE decision_copies SET leaves = ? WHERE proposal_id = ?", (json.dumps(changed), proposal_id)
        )
    code, out = await _verify(proposal_id, capsys)
    assert code == 1 and "counts of" in out and "Merkle root" in out, out
    async with nodes["a"].db.transaction() as conn:
        await conn.execute("UPDATE decision_copies SET leaves = ? WHERE proposal_id = ?", (honest, proposal_id))
    assert (await _verify(proposal_id, capsys))[0] == 0
    row = await received.get_tally(nodes["world"].db.reader, proposal_id, nodes["b"].actor_id)
    forged = json.loads(row["document"])
    forged["questions"][0]["counts"]["agree"] = 1
    async with nodes["world"].db.transaction() as conn:
        await conn.execute(
            "UPDATE decision_tallies SET document = ? WHERE chapter = ?", (json.dumps(forged), nodes["b"].actor_id)
        )
    code, out = await _verify(proposal_id, capsys)
    assert code == 1 and f"FAIL  {nodes['b'].actor_id}" in out and "proof" in out.lower(), out
    async with nodes["world"].db.transaction() as conn:
        await conn.execute(
            "UPDATE decision_tallies SET document = ? WHERE chapter = ?", (row["document"], nodes["b"].actor_id)
        )
        outcome_text = await conn.execute_fetchall(
            "SELECT outcome FROM decision_proposals WHERE id = ?", (proposal_id,)
        )
        signed = json.loads(outcome_text[0][0])
        signed["result"]["status"] = "failed" if signed["result"]["status"] == "passed" else "passed"
        await conn.execute("UPDATE decision_proposals SET outcome = ? WHERE id = ?", (json.dumps(signed), proposal_id))
    code, out = await _verify(proposal_id, capsys)
    assert code == 1 and "FAIL  the outcome" in out, out


async def test_a_roll_larger_than_the_chapters_report_allows_is_refused_and_the_chapter_told(
    make_node, tmp_path, member_host
):
    """A chapter whose roll exceeds its last signed report (plus those who joined since: rolls.allowance)
    is refused at its region with a signed refusal it accepts and shows; its tally is refused for it; the
    outcome counts it as not reporting, with the member count it reported."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, {"a": 2, "b": 2, "c": 2})
    await add_members(nodes["a"], member_host, "more", 10)  # the region's electorate still says 2
    proposal_id = await issue(nodes["world"], clock)
    told = await eventually(lambda: _told(nodes["a"], proposal_id, "exceeds the 2 members"), timeout=20)
    assert told
    await vote_everywhere(member_host, nodes, proposal_id, {"a": {"agree": 2}, "b": {"agree": 1}})
    clock.advance(minutes=5, seconds=1)

    async def refused_at_r1():
        kept = await received.get_tally(nodes["r1"].db.reader, proposal_id, nodes["a"].actor_id)
        return kept if kept is not None and kept["status"] == "refused" else None

    assert "its roll was refused here" in (await eventually(refused_at_r1, timeout=20))["reason"]
    await eventually(lambda: _reported(nodes["world"], proposal_id, 2), timeout=20)  # B and C
    clock.advance(hours=1)  # the tallyDeadline: the top decides without A
    final = await final_results(nodes["world"], proposal_id)
    statuses = {c["id"]: c["status"] for region in final["branches"] for c in region["children"]}
    assert statuses[nodes["a"].actor_id] == "not reporting"  # at the top: its tally never came up
    assert final["voters"] == 1 and final["electorate"] == 6
