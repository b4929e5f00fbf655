"""``kill -9`` of the node while members vote: no ballot is lost or counted twice.

The chapter runs as a child process (tests.support.subprocess_node). Thirty members, each a
real signed server on loopback, are admitted with the client-to-server Add to the members
collection; the admin publishes a ``oneOf`` and an ``anyOf`` poll. Members vote as Mastodon
does (one ``Create(Note)`` per chosen option), all at once; some vote twice on the one-choice
poll or choose an option twice, and a few outsiders vote too. Each member sends its ballots in
order, the next only after the last was acknowledged, as a person voting again later would.

In each of three rounds the node is SIGKILLed after a random number of acknowledgements
(the seed is printed), then restarted on the same port and database; every ballot without a
``202`` is sent again, and so are a few acknowledged ones (same activity ids: harmless). Once
the inbox is drained (the SQLite file polled read-only), the served Questions must show what
Mastodon's rules give for the ballots sent (first choice per member on ``oneOf``, each option
once per member on ``anyOf``, outsiders never), every ballot must be recorded exactly once,
and the ballots table must hold exactly one counted row per (question, voter, option).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from node.core import inbox_items as inbox_store
from node.core.clock import iso, to_epoch
from node.polls import model as polls
from tests.support.c2s import eventually, get_json, publish
from tests.support.nodes import node_config, start_node
from tests.support.polls import admin_adds_member, mastodon_vote, open_poll
from tests.support.remote_actor import RemoteActor
from tests.support.stores import query
from tests.support.subprocess_node import SubprocessNode

MEMBERS = 30
OUTSIDERS = 3
ROUNDS = 3
ONE_OF = ["Tuesday", "Thursday", "Saturday"]
ANY_OF = ["Books", "Films", "Music", "Walks"]
SEND_TIMEOUT = aiohttp.ClientTimeout(total=20)


@pytest.fixture
async def chapter(tmp_path):
    node = SubprocessNode(tmp_path / "london", "london")
    try:
        await node.start()
        yield node
    finally:
        node.kill()


@dataclass
class Ballot:
    voter: RemoteActor
    question: str  # "oneOf" or "anyOf"
    option: str
    activity: dict

    @property
    def id(self) -> str:
        return self.activity["id"]

    @property
    def note_id(self) -> str:
        return self.activity["object"]["id"]


async def signed_post(session: aiohttp.ClientSession, ballot: Ballot, url: str) -> int | None:
    """POST one ballot, signed by its voter; the status, or None when no answer came (the node died)."""
    body = json.dumps(ballot.activity).encode()
    try:
        async with session.post(url, data=body, headers=ballot.voter.signed_headers(url, body)) as response:
            await response.read()
            return response.status
    except (TimeoutError, aiohttp.ClientError, OSError):
        return None


def plan_ballots(
    rng: random.Random,
    members: list[RemoteActor],
    outsiders: list[RemoteActor],
    questions: dict[str, str],
    chapter_id: str,
) -> dict[str, list[Ballot]]:
    """Each voter's ballots (by voter id), in the order that voter sends them."""
    numbers: Counter[str] = Counter()

    def ballot(voter: RemoteActor, kind: str, option: str) -> Ballot:
        numbers[voter.id] += 1
        return Ballot(
            voter, kind, option, mastodon_vote(voter.id, questions[kind], chapter_id, option, numbers[voter.id])
        )

    plans = {}
    for voter in members + outsiders:
        one = [rng.choice(ONE_OF)]
        if voter in outsiders or rng.random() < 0.3:  # a second answer to the one-choice poll
            one.append(rng.choice([o for o in ONE_OF if o != one[0]]))
        many = rng.sample(ANY_OF, rng.randint(1, 3))
        if rng.random() < 0.25:  # the same option chosen again, in a new ballot
            many.append(rng.choice(many))
        ones = [ballot(voter, "oneOf", option) for option in one]
        manys = [ballot(voter, "anyOf", option) for option in many]
        merged = []
        while ones or manys:  # interleave at random, each poll's ballots keeping their order
            source = ones if ones and (not manys or rng.random() < 0.5) else manys
            merged.append(source.pop(0))
        plans[voter.id] = merged
    return plans


def expected_counts(plans: dict[str, list[Ballot]], members: list[RemoteActor]):
    """Mastodon's rules on what each member sent: {kind: (per-option counts, voters)}, and the counted triples."""
    counted: set[tuple[str, str, str]] = set()
    for member in members:
        ballots = plans[member.id]
        first = next((b for b in ballots if b.question == "oneOf"), None)
        if first is not None:
            counted.add(("oneOf", member.id, first.option))
        counted |= {("anyOf", member.id, b.option) for b in ballots if b.question == "anyOf"}
    figures = {}
    for kind, options in (("oneOf", ONE_OF), ("anyOf", ANY_OF)):
        per_option = Counter(option for k, _, option in counted if k == kind)
        figures[kind] = ([per_option[o] for o in options], len({voter for k, voter, _ in counted if k == kind}))
    return figures, counted


async def test_kill_9_while_members_vote_loses_no_ballot_and_counts_none_twice(chapter, remote_actor):
    seed = random.randrange(1 << 30)
    print(f"\nballot crash seed {seed}")
    rng = random.Random(seed)
    node = chapter
    people = await asyncio.gather(*(remote_actor(f"voter{n:02d}") for n in range(MEMBERS + OUTSIDERS)))
    members, outsiders = list(people[:MEMBERS]), list(people[MEMBERS:])
    for member in members:
        await admin_adds_member(node, member.id)

    end_time = iso(datetime.now(UTC) + timedelta(hours=2))
    questions = {}
    for kind, options in (("oneOf", ONE_OF), ("anyOf", ANY_OF)):
        status, result, _ = await publish(
            node, {"type": "Question", "content": f"<p>{kind}?</p>", kind: options, "endTime": end_time}
        )
        assert status == 201, result
        questions[kind] = result["object"]

    plans = plan_ballots(rng, members, outsiders, questions, node.actor_id)
    every_ballot = [b for ballots in plans.values() for b in ballots]
    # Each voter's ballots arrive over the rounds, in order: cut each list in three.
    chunks: dict[str, list[list[Ballot]]] = {}
    for voter, ballots in plans.items():
        cuts = sorted(rng.randint(0, len(ballots)) for _ in range(ROUNDS - 1))
        bounds = [0, *cuts, len(ballots)]
        chunks[voter] = [ballots[bounds[r] : bounds[r + 1]] for r in range(ROUNDS)]
    pending: dict[str, list[Ballot]] = {voter: [] for voter in plans}
    acknowledged: set[str] = set()
    report = []

    async def send_round(*, kill_after: int | None, resend: list[Ballot]) -> Counter:
        """Every voter sends its pending ballots in order, stopping at the first without a 202."""
        statuses: Counter = Counter()
        acked_now = 0
        connector = aiohttp.TCPConnector(limit=MEMBERS + OUTSIDERS + 5, force_close=True)
        async with aiohttp.ClientSession(timeout=SEND_TIMEOUT, connector=connector) as session:

            async def voter_sends(voter: str) -> None:
                nonlocal acked_now
                while pending[voter]:
                    ballot = pending[voter][0]
                    status = await signed_post(session, ballot, node.inbox)
                    statuses[status] += 1
                    if status != 202:
                        return
                    acknowledged.add(ballot.id)
                    acked_now += 1
                    pending[voter].pop(0)

            async def resend_some() -> None:
                for ballot in resend:
                    status = await signed_post(session, ballot, node.inbox)
                    statuses[status] += 1

            sending = asyncio.gather(*(voter_sends(voter) for voter in plans), resend_some())
            if kill_after is not None:

                async def enough_acknowledged():
                    return acked_now >= kill_after or sending.done() or None

                await eventually(enough_acknowledged, timeout=30, interval=0.002)
                node.kill()
            await sending
        return statuses

    for round_ in range(ROUNDS):
        for voter in plans:
            pending[voter] += chunks[voter][round_]
        to_send = sum(len(p) for p in pending.values())
        resend = rng.sample(sorted(acknowledged), min(6, len(acknowledged)))
        by_id = {b.id: b for b in every_ballot}
        kill_after = rng.randint(1, max(1, to_send * 2 // 3))
        statuses = await send_round(kill_after=kill_after, resend=[by_id[i] for i in resend])
        assert set(statuses) <= {202, None}, f"seed {seed}: {statuses}"
        recorded_at_kill = query(node.database, "SELECT COUNT(*) FROM poll_ballots")[0][0]
        claimed_at_kill = query(
            node.database, "SELECT COUNT(*) FROM inbox_items WHERE state = 'queued' AND attempts > 0"
        )[0][0]
        await node.restart()
        stored = {row[0] for row in query(node.database, "SELECT activity_id FROM inbox_items")}
        lost = acknowledged - stored
        assert not lost, f"seed {seed}, round {round_}: acknowledged ballots not on disk: {sorted(lost)}"
        unanswered = sum(len(p) for p in pending.values())
        report.append(
            f"round {round_}: {to_send} to send, killed after {kill_after} acknowledgements, "
            f"{unanswered} left without a 202 ({statuses[None]} requests unanswered), "
            f"at the kill {recorded_at_kill} ballots recorded and {claimed_at_kill} claimed by the worker"
            f" but not finished"
        )

    # The node stays up now: whatever is still unacknowledged goes again, with a few repeats.
    resend = [b for b in every_ballot if b.id in set(rng.sample(sorted(acknowledged), min(6, len(acknowledged))))]
    for _ in range(3):
        if not any(pending.values()):
            break
        statuses = await send_round(kill_after=None, resend=resend)
        resend = []
        assert set(statuses) <= {202}, f"seed {seed}: {statuses}; log:\n{node.log_tail()}"
    assert not any(pending.values()) and acknowledged == {b.id for b in every_ballot}

    def inbox_states() -> dict[str, int]:
        return dict(query(node.database, "SELECT state, COUNT(*) FROM inbox_items GROUP BY state"))

    async def drained():
        return "queued" not in inbox_states() or None

    try:
        await eventually(drained, timeout=30, interval=0.1)
    except AssertionError:
        raise AssertionError(f"seed {seed}: inbox not drained: {inbox_states()}; log:\n{node.log_tail()}") from None
    print(f"seed {seed}; " + "; ".join(report))
    assert inbox_states() == {"done": len(every_ballot)}, f"seed {seed}: {inbox_states()}"

    # Every ballot sent is recorded exactly once (counted or not): none lost, none doubled.
    recorded = Counter(row[0] for row in query(node.database, "SELECT ballot_id FROM poll_ballots"))
    assert recorded == Counter(b.note_id for b in every_ballot), f"seed {seed}"

    # Exactly one counted row per (question, voter, option), and exactly the ones Mastodon's rules give.
    figures, expected = expected_counts(plans, members)
    kind_of = {question_id: kind for kind, question_id in questions.items()}
    counted = query(
        node.database,
        "SELECT question_id, voter, choice, COUNT(*) FROM poll_ballots WHERE counted = 1"
        " GROUP BY question_id, voter, choice",
    )
    assert all(n == 1 for *_, n in counted), f"seed {seed}: {[row for row in counted if row[3] > 1]}"
    assert {(kind_of[q], voter, choice) for q, voter, choice, _ in counted} == expected, f"seed {seed}"
    outsider_ids = {o.id for o in outsiders}
    refused = query(node.database, "SELECT voter, reason FROM poll_ballots WHERE counted = 0")
    assert {reason for voter, reason in refused if voter in outsider_ids} == {"non-member"}
    assert {reason for voter, reason in refused if voter not in outsider_ids} <= {
        "repeated: already voted",
        "repeated: option already chosen",
    }, f"seed {seed}: {refused}"

    # The Questions as served (what Mastodon reads) agree.
    for kind, question_id in questions.items():
        status, served = await get_json(question_id)
        assert status == 200, served
        per_option, voters = figures[kind]
        assert [o["name"] for o in served[kind]] == (ONE_OF if kind == "oneOf" else ANY_OF)
        assert [o["replies"]["totalItems"] for o in served[kind]] == per_option, f"seed {seed}: {kind}"
        assert served["votersCount"] == voters, f"seed {seed}: {kind}"
    assert figures["oneOf"][1] == MEMBERS and sum(figures["oneOf"][0]) == MEMBERS


async def test_a_first_ballot_interrupted_by_a_crash_still_counts_before_a_later_one(tmp_path, remote_actor):
    """The crash at one precise moment: the worker had claimed a member's first one-choice ballot
    and died before its commit; the member voted again (after the first 202), and more than a
    batch of other activities came in. Started again, the node counts the first ballot, not the
    second: what a killed worker had claimed keeps its place in the order received."""
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    config = node_config(tmp_path, "london")
    node = await start_node(config, start_workers=False)
    try:
        await admin_adds_member(node, alice.id)
        question_id = (await open_poll(node, "oneOf", ["yes", "no"]))["object"]
        await node.settle()
        first = mastodon_vote(alice.id, question_id, node.actor_id, "yes", 1)
        assert (await alice.post(node.inbox, first))[0] == 202
        # The worker's claim, as a batch begins (the process then dies before the batch commits).
        async with node.db.transaction() as conn:
            claimed = await inbox_store.claim_due(
                conn,
                now=to_epoch(datetime.now(UTC)),
                lease_seconds=node.inbox_worker.lease_seconds,
                limit=node.inbox_worker.batch,
            )
        assert [row["activity_id"] for row in claimed] == [first["id"]]
        second = mastodon_vote(alice.id, question_id, node.actor_id, "no", 2)
        assert (await alice.post(node.inbox, second))[0] == 202
        for n in range(node.inbox_worker.batch + 6):  # more than one batch behind the second ballot
            status, body = await bob.post(node.inbox, bob.activity("Like", f"{node.actor_id}#like-{n}"))
            assert status == 202, body
    finally:
        await node.stop()

    node = await start_node(config, start_workers=False)  # same port, same database
    try:
        await node.settle(rounds=10)
        ballots = await polls.ballots_of(node.db.reader, question_id)
        assert [(b["choice"], b["counted"], b["reason"]) for b in ballots] == [
            ("yes", 1, None),
            ("no", 0, "repeated: already voted"),
        ]
        _, question = await get_json(question_id)
        assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [1, 0] and question["votersCount"] == 1
    finally:
        await node.stop()
