"""A whole decision with the issuer, a region and a chapter each served by two processes on one PostgreSQL schema.

The tree of ``test_decisions`` (world <- r1 <- a, b; world <- r2 <- c, on one frozen clock) is
built as usual; then ``world``, ``r1`` and ``a`` each get a second application on the SAME
config and schema (same ``base_url`` and storage URL, another ``listen`` port), running every
worker, as a second worker process would: two due runners (the rolls, exclusions, tallies,
aggregates and the outcome under the per-kind advisory lock), two inbox workers and two
delivery workers (claims with ``SKIP LOCKED``) on one database per node. A decision is run
end to end (issued, copied, ballots from the members, some sent twice, closed by the clock,
tallies up, outcome down), and the test proves, from the stores and from what the peers
received, that each chapter's tally was sent once and received once at each level, each
region's aggregate once, the outcome decided once, sent once to each child and taken once by
each chapter (one news item for its members), and no ballot counted twice; and that both
applications' runners really ran the decisions' kinds, the advisory lock making one skip.
Real processes are ``test_processes``'s; here both are applications in the test's process.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from node.core.appkeys import DUE_RUNNER
from node.core.clock import FrozenClock, iso
from node.core.db import fetch_all, fetch_one
from node.decisions import copy_store, received
from tests.support.c2s import eventually, publish
from tests.support.decisions import MemberHost, build_tree, copy_questions, final_results
from tests.support.nodes import RunningNode, free_port, start_node

pytestmark = pytest.mark.postgres_only

POLICY = {"passThreshold": 0.5, "blockShare": 0.1, "chapterQuorum": 0.2, "rollQuorum": 0.5, "turnoutQuorum": 0.25}
OPTIONS = ["agree", "abstain", "disagree", "block"]
SIZES = {"a": 12, "b": 6, "c": 4}
BALLOTS = {"a": {"agree": 6, "disagree": 3}, "b": {"agree": 2, "disagree": 2}, "c": {"agree": 3}}
TWICE = 4  # the first members of ``a`` send their ballot twice (another activity each time)
DOUBLED = ("world", "r1", "a")
DECISION_KINDS = ("roll", "exclusions", "tally", "aggregate", "outcome")


@dataclass
class LockLog:
    """What one application's due runner was given: each kind's lock granted, or skipped (another held it)."""

    granted: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)


def record_locks(node: RunningNode) -> LockLog:
    """The runner's own ``Store.exclusive``, each answer counted (the lock itself is untouched)."""
    runner = node.app[DUE_RUNNER]
    inner, log = runner.exclusive, LockLog()

    @asynccontextmanager
    async def exclusive(name: str) -> AsyncIterator[bool]:
        async with inner(name) as granted:
            (log.granted if granted else log.skipped)[name] += 1
            yield granted

    runner.exclusive = exclusive
    return log


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


@asynccontextmanager
async def second_processes(nodes: dict[str, RunningNode], clock: FrozenClock) -> AsyncIterator[dict[str, RunningNode]]:
    """For each doubled node, a second application on its config and schema, every worker started."""
    twins: dict[str, RunningNode] = {}
    try:
        for name in DOUBLED:
            config = nodes[name].config
            port = free_port()
            twin_config = replace(config, node=replace(config.node, listen=f"127.0.0.1:{port}"))
            twins[name] = await start_node(twin_config, clock=clock, start_workers=True)
        yield twins
    finally:
        for twin in twins.values():
            await twin.stop()


async def issue(world: RunningNode, clock: FrozenClock) -> str:
    body = {
        "type": "Question",
        "content": "<p>Adopt the charter?</p>",
        "oneOf": OPTIONS,
        "endTime": iso(clock.now() + timedelta(minutes=5)),
        "decision": POLICY,
    }
    status, answer, _ = await publish(world, body)
    assert status == 201, answer
    return answer["object"]


async def vote(host: MemberHost, nodes: dict[str, RunningNode], proposal_id: str) -> dict[str, str]:
    """Every chapter's members vote as ``BALLOTS`` says (``TWICE`` of ``a`` twice); the copies' question ids."""
    questions = {}
    for chapter, counts in BALLOTS.items():
        question = questions[chapter] = (await copy_questions(nodes[chapter], proposal_id))[proposal_id]
        number = 0
        for option, many in counts.items():
            for _ in range(many):
                assert await host.vote(nodes[chapter], f"{chapter}{number}", question, option) == 202
                number += 1
    for number in range(TWICE):  # the same member and choice again: a new activity, one more ballot row
        choice = "agree" if number < BALLOTS["a"]["agree"] else "disagree"
        assert await host.vote(nodes["a"], f"a{number}", questions["a"], choice) == 202
    return questions


async def all_ballots_taken(nodes: dict[str, RunningNode], questions: dict[str, str]) -> bool:
    """Every ballot sent is kept (counted, or a repeat refused) by its chapter: the vote may close."""
    for chapter, counts in BALLOTS.items():
        sent = sum(counts.values()) + (TWICE if chapter == "a" else 0)
        rows = await fetch_all(
            nodes[chapter].db.reader, "SELECT voter FROM poll_ballots WHERE question_id = ?", (questions[chapter],)
        )
        if len(rows) < sent:
            return False
    return True


async def adds(node: RunningNode, kind: str, proposal_id: str) -> list[dict]:
    """The ``Add`` activities of a ``kind`` decision document on ``proposal_id`` this node recorded to send."""
    rows = await fetch_all(node.db.reader, "SELECT data FROM objects WHERE kind = 'activity' AND type = 'Add'")
    found = [json.loads(row["data"]) for row in rows]
    return [a for a in found if a["object"].get("type") == kind and a["object"].get("proposal") == proposal_id]


async def taken(node: RunningNode, kind: str, proposal_id: str) -> list[dict]:
    """The ``Add`` activities of a ``kind`` document on ``proposal_id`` this node's inbox received."""
    rows = await fetch_all(node.db.reader, "SELECT body, state FROM inbox_items WHERE type = 'Add'")
    found = [json.loads(row["body"]) for row in rows]
    return [a for a in found if a["object"].get("type") == kind and a["object"].get("proposal") == proposal_id]


async def deliveries_of(node: RunningNode, activity_id: str) -> list[tuple[str, str]]:
    rows = await fetch_all(node.db.reader, "SELECT inbox, state FROM deliveries WHERE activity_id = ?", (activity_id,))
    return [(row["inbox"], row["state"]) for row in rows]


async def quiet(nodes: dict[str, RunningNode]) -> bool:
    """Nothing left to receive or deliver anywhere in the tree."""
    for node in nodes.values():
        inbox = await fetch_one(node.db.reader, "SELECT count(*) AS n FROM inbox_items WHERE state = 'queued'")
        out = await fetch_one(node.db.reader, "SELECT count(*) AS n FROM deliveries WHERE state = 'queued'")
        if inbox["n"] or out["n"]:
            return False
    return True


async def ran_again(logs: list[LockLog], since: list[Counter]) -> bool:
    """Every application's runner has run the tally and outcome kinds again since ``since`` (what they took then)."""
    for log, before in zip(logs, since, strict=True):
        for kind in ("due: decision outcome", "due: decision tally"):
            if log.granted[kind] <= before[kind]:
                return False
    return True


async def test_two_processes_per_node_send_each_tally_once_and_decide_once(make_node, tmp_path, member_host):
    """world, r1 and a doubled: the decision comes out as on one process, every document sent and taken once."""
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, SIZES)
    async with second_processes(nodes, clock) as twins:
        logs = {name: (record_locks(nodes[name]), record_locks(twins[name])) for name in DOUBLED}
        proposal_id = await issue(nodes["world"], clock)
        questions = await vote(member_host, nodes, proposal_id)
        await eventually(lambda: all_ballots_taken(nodes, questions), timeout=20)
        clock.advance(minutes=5, seconds=1)
        final = await final_results(nodes["world"], proposal_id)
        await eventually(lambda: outcome_everywhere(nodes, proposal_id), timeout=20)
        every = [log for pair in logs.values() for log in pair]
        since = [Counter(log.granted) for log in every]
        await eventually(lambda: ran_again(every, since), timeout=20)  # each runner looked again, found nothing
        await eventually(lambda: quiet(nodes), timeout=20)
        assert final["outcome"]["status"] == "passed", final["outcome"]
        assert final["electorate"] == sum(SIZES.values()) and final["voters"] == 16, final
        options = {o["name"]: o["count"] for o in final["questions"][0]["options"]}
        assert options == {"agree": 11, "abstain": 0, "disagree": 5, "block": 0}, options
        await check_ballots(nodes, questions, proposal_id)
        await check_tallies(nodes, proposal_id)
        await check_outcome(nodes, proposal_id)
        check_both_ran(logs)


async def outcome_everywhere(nodes: dict[str, RunningNode], proposal_id: str) -> bool:
    """Every node below the issuer has kept the outcome that came down."""
    for name in ("r1", "r2", *BALLOTS):
        row = await fetch_one(
            nodes[name].db.reader, "SELECT outcome FROM decision_proposals WHERE id = ?", (proposal_id,)
        )
        if row is None or row["outcome"] is None:
            return False
    return True


async def check_ballots(nodes: dict[str, RunningNode], questions: dict[str, str], proposal_id: str) -> None:
    """Each voter's ballot counted once (a repeat kept, refused), one choice and one leaf per voter."""
    for chapter, counts in BALLOTS.items():
        node, voters = nodes[chapter], sum(counts.values())
        rows = await fetch_all(
            node.db.reader, "SELECT voter, counted FROM poll_ballots WHERE question_id = ?", (questions[chapter],)
        )
        counted = Counter(row["voter"] for row in rows if row["counted"])
        assert len(counted) == voters and set(counted.values()) == {1}, counted
        assert len(rows) - voters == (TWICE if chapter == "a" else 0)
        choices = await fetch_all(
            node.db.reader, "SELECT voter FROM decision_choices WHERE proposal_id = ?", (proposal_id,)
        )
        assert len(choices) == len({row["voter"] for row in choices}) == voters
        copy = await copy_store.copy_of(node.db.reader, proposal_id)
        assert copy["state"] == "tallied" and len(json.loads(copy["leaves"])) == voters


async def check_tallies(nodes: dict[str, RunningNode], proposal_id: str) -> None:
    """Each chapter's tally: one Add recorded, delivered once, received once by its region and once by the issuer."""
    region_of = {"a": "r1", "b": "r1", "c": "r2"}
    for chapter, region in region_of.items():
        actor = nodes[chapter].actor_id
        sent = await adds(nodes[chapter], "DecisionTally", proposal_id)
        assert len(sent) == 1, [a["id"] for a in sent]
        assert await deliveries_of(nodes[chapter], sent[0]["id"]) == [(f"{nodes[region].base_url}/inbox", "done")]
        at_region = await taken(nodes[region], "DecisionTally", proposal_id)
        assert [a["actor"] for a in at_region if a["object"]["attributedTo"] == actor] == [actor]
        at_issuer = await taken(nodes["world"], "DecisionTally", proposal_id)
        assert [a["actor"] for a in at_issuer if a["object"]["attributedTo"] == actor] == [nodes[region].actor_id]
    kept = await received.tallies(nodes["world"].db.reader, proposal_id)
    assert sorted(t["origin"] for t in kept) == sorted(nodes[c].actor_id for c in region_of)
    assert {t["status"] for t in kept} == {"reported"}
    for region in ("r1", "r2"):
        assert len(await adds(nodes[region], "DecisionAggregate", proposal_id)) == 1
    assert len(await taken(nodes["world"], "DecisionAggregate", proposal_id)) == 2


async def check_outcome(nodes: dict[str, RunningNode], proposal_id: str) -> None:
    """Decided once at the issuer; sent once to each region, passed once to each chapter, told once there."""
    world = nodes["world"]
    row = await fetch_one(world.db.reader, "SELECT state, outcome FROM decision_proposals WHERE id = ?", (proposal_id,))
    assert row["state"] == "decided" and row["outcome"] is not None
    sent = await adds(world, "DecisionOutcome", proposal_id)
    assert sorted(a["to"][0] for a in sent) == sorted(nodes[r].actor_id for r in ("r1", "r2"))
    updates = await fetch_all(
        world.db.reader,
        "SELECT id FROM objects WHERE kind = 'activity' AND type = 'Update' AND object_id = ?",
        (proposal_id,),
    )
    assert len(updates) == 1, updates
    outcome = json.loads(row["outcome"])
    for name in ("r1", "r2", *BALLOTS):
        arrived = await taken(nodes[name], "DecisionOutcome", proposal_id)
        assert len(arrived) == 1 and arrived[0]["object"] == outcome, (name, len(arrived))
    for chapter in BALLOTS:
        notes = await fetch_all(nodes[chapter].db.reader, "SELECT data FROM objects WHERE type = 'Note'")
        news = [n for n in notes if "The decision of the whole organisation" in n["data"]]
        assert len(news) == 1, (chapter, len(news))


def check_both_ran(logs: dict[str, tuple[LockLog, LockLog]]) -> None:
    """Both applications of each doubled node ran the decisions' kinds; some turn found the other holding one."""
    skipped = 0
    for name, pair in logs.items():
        for log in pair:
            ran = {kind for kind in DECISION_KINDS if log.granted[f"due: decision {kind}"]}
            assert ran == set(DECISION_KINDS), (name, log.granted)
            skipped += sum(log.skipped.values())
    counts = {
        name: [(sum(log.granted.values()), sum(log.skipped.values())) for log in pair] for name, pair in logs.items()
    }
    assert skipped > 0, f"no runner ever found a kind's lock held by the other (granted, skipped): {counts}"
