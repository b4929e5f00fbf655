"""Proportional decisions across real nodes on loopback: an international node, two regions, three chapters.

Chapters A (100 members), B (50) and C (30): A and B under region r1, C under r2, all under
the international node ``world``, which issues each proposal by C2S. Members live on one
small server (``tests.support.decisions.MemberHost``) and vote as Mastodon does; the whole
tree shares one frozen clock, moved past ``endTime`` by the test, while the workers run.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from node.core.clock import FrozenClock, iso
from tests.support.c2s import publish
from tests.support.decisions import MemberHost, build_tree, copy_questions, final_results, results

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
    print(final)
    assert final["outcome"]["status"] == "passed", final
    assert final["electorate"] == 180 and final["voters"] == 100
    options = {o["name"]: o["count"] for o in final["questions"][0]["options"]}
    assert options == {"agree": 56, "abstain": 5, "disagree": 39, "block": 0}
    assert final["questions"][0]["votersCount"] == 100


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
    assert shares["signedOutcome"]["result"]["weighted"] == {"agree": 100.0, "abstain": 0.0, "disagree": 50.0, "block": 0.0}
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
    proposal_id = await issue(nodes["world"], clock)
    for change in ({"decision": {"passThreshold": 0.9}}, {"oneOf": ["yes", "no"]}, {"endTime": iso(clock.now())}):
        status, body, _ = await publish(nodes["world"], {"type": "Update", "object": {"id": proposal_id, **change}})
        assert status == 422, body
    status, body, _ = await publish(
        nodes["a"], {"type": "Question", "content": "x", "oneOf": OPTIONS, "endTime": iso(clock.now() + timedelta(minutes=5)), "decision": {}}
    )
    assert status == 422 and "children" in body["error"], body
