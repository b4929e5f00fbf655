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
