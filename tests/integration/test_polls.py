"""Polls: publishing a Question (C2S), counting votes as Mastodon does, coalesced Updates, closing.

Remote members are real signed servers on loopback (tests.support.remote_actor); the nodes run
without background workers, so each test steps the inbox, poll and delivery workers itself and
moves the node's clock. The admin adds members with the client-to-server Add to the members
collection (and removes one with Remove).
"""

from __future__ import annotations

import pytest

from federation.jsonld import undefined_terms
from node.core.clock import FrozenClock
from node.polls import model as polls
from tests.support.c2s import eventually, get_json, publish
from tests.support.nodes import node_config, start_node
from tests.support.polls import admin_adds_member, closes_in, mastodon_vote, open_poll, run_poll_worker, takahe_vote


async def _vote(node, voter, activity):
    status, body = await voter.post(node.inbox, activity)
    assert status == 202, body


async def test_a_question_is_published_with_the_chapter_as_author_and_a_context(make_node):
    node = await make_node("london", start_workers=False)
    result = await open_poll(node, "oneOf", ["Tuesday", "Thursday"])
    status, question = await get_json(result["object"])
    assert status == 200
    assert question["type"] == "Question" and question["attributedTo"] == node.actor_id
    assert question["context"] == question["id"]
    assert question["oneOf"] == [
        {"type": "Note", "name": "Tuesday", "replies": {"type": "Collection", "totalItems": 0}},
        {"type": "Note", "name": "Thursday", "replies": {"type": "Collection", "totalItems": 0}},
    ]
    assert question["votersCount"] == 0 and "closed" not in question and question["endTime"].endswith("Z")
    assert question["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert question["cc"] == [f"{node.actor_id}/followers"]
    assert undefined_terms(question, types=True) == []


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"oneOf": ["only one"]}, "2 to 20 options"),
        ({"oneOf": ["same", "same"]}, "distinct"),
        ({"oneOf": ["a", "b"], "anyOf": ["a", "b"]}, "exactly one of oneOf"),
        ({}, "exactly one of oneOf"),
        ({"anyOf": ["a", 3]}, "needs a name"),
        ({"oneOf": ["a", "b"], "endTime": "2001-01-01T00:00:00Z"}, "not in the future"),
        ({"oneOf": ["a", "b"], "endTime": "soon"}, "not an ISO 8601"),
        ({"oneOf": ["a", "b"], "endTime": None}, "endTime is required"),
        ({"oneOf": ["a", "b"], "content": ""}, "text in content"),
        ({"oneOf": ["a", "b"], "hideResults": "yes"}, "hideResults"),
    ],
)
async def test_bad_questions_are_refused_with_the_reason(make_node, body, reason):
    node = await make_node("london", start_workers=False)
    question = {"type": "Question", "content": "<p>Which?</p>", "endTime": closes_in(node, hours=1), **body}
    status, answer, _ = await publish(node, question)
    assert status == 400 and reason in answer["error"], answer


async def test_options_order_and_kind_never_change(make_node):
    node = await make_node("london", start_workers=False)
    question_id = (await open_poll(node, "oneOf", ["yes", "no"]))["object"]
    for changes, reason in [
        ({"oneOf": ["no", "yes"]}, "options"),
        ({"oneOf": ["yes", "no", "maybe"]}, "options"),
        ({"anyOf": ["yes", "no"]}, "kind"),
        ({"endTime": "2099-01-01T00:00:00Z"}, "endTime"),
    ]:
        status, answer, _ = await publish(node, {"type": "Update", "object": {"id": question_id, **changes}})
        assert status == 422 and reason in answer["error"], answer
    status, answer, _ = await publish(node, {"type": "Update", "object": {"id": question_id, "content": "<p>Yes?</p>"}})
    assert status == 201, answer
    _, question = await get_json(question_id)
    assert question["content"] == "<p>Yes?</p>" and [o["name"] for o in question["oneOf"]] == ["yes", "no"]


async def test_mastodon_and_takahe_ballots_are_counted_once_and_refusals_kept(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice, bob, carol, dave = [await remote_actor(name) for name in ("alice", "bob", "carol", "dave")]
    for member in (alice, bob, carol):
        await admin_adds_member(node, member.id)
    await admin_adds_member(node, dave.id)
    status, answer, _ = await publish(node, {"type": "Remove", "object": dave.id, "target": f"{node.actor_id}/members"})
    assert status == 201, answer
    question_id = (await open_poll(node, "anyOf", ["bread", "cheese", "wine"]))["object"]

    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "bread", 1))
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "wine", 2))
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "wine", 3))  # the same option again
    takahe = takahe_vote(bob.id, question_id, node.actor_id, "cheese", 7)
    await _vote(node, bob, takahe)
    await _vote(node, bob, takahe)  # delivered twice: one inbox row, one ballot
    await _vote(node, carol, mastodon_vote(carol.id, question_id, node.actor_id, "beer", 1))
    await _vote(node, dave, mastodon_vote(dave.id, question_id, node.actor_id, "bread", 1))
    forged = mastodon_vote(carol.id, question_id, node.actor_id, "bread", 2)
    forged["object"]["attributedTo"] = alice.id
    await _vote(node, carol, forged)
    await node.settle()

    _, question = await get_json(question_id)
    assert {o["name"]: o["replies"]["totalItems"] for o in question["anyOf"]} == {"bread": 1, "cheese": 1, "wine": 1}
    assert question["votersCount"] == 2
    ballots = await polls.ballots_of(node.db.reader, question_id)
    reasons = {(row["voter"].rsplit("/", 1)[1], row["choice"], row["reason"]) for row in ballots if not row["counted"]}
    assert reasons == {
        ("alice", "wine", "repeated: option already chosen"),
        ("carol", "beer", "unknown option"),
        ("dave", "bread", "removed member"),
        ("carol", "bread", f"the ballot is attributed to {alice.id}, not its sender"),
    }
    assert [row["ballot_id"] for row in ballots if row["voter"] == bob.id] == [takahe["id"]]


async def test_one_of_counts_a_voters_first_ballot_only(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await admin_adds_member(node, alice.id)
    question_id = (await open_poll(node, "oneOf", ["yes", "no"]))["object"]
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "no", 1))
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "yes", 2))
    comment = alice.activity(
        "Create",
        {
            "id": alice.new_id("objects"),
            "type": "Note",
            "attributedTo": alice.id,
            "content": "<p>Why not both?</p>",
            "inReplyTo": question_id,
            "to": [node.actor_id],
        },
    )
    await _vote(node, alice, comment)  # a reply with content and no option name is a comment, not a ballot
    await node.settle()
    _, question = await get_json(question_id)
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [0, 1] and question["votersCount"] == 1
    ballots = await polls.ballots_of(node.db.reader, question_id)
    assert [(b["choice"], b["counted"], b["reason"]) for b in ballots] == [
        ("no", 1, None),
        ("yes", 0, "repeated: already voted"),
    ]


async def test_updates_are_coalesced_sent_to_followers_and_voters_and_the_close_is_announced(make_node, remote_actor):
    clock = FrozenClock()
    node = await make_node("london", start_workers=False, clock=clock)
    voters = [await remote_actor(name) for name in ("alice", "bob", "carol")]
    follower = await remote_actor("fran")
    status, _ = await follower.post(node.inbox, follower.activity("Follow", node.actor_id))
    assert status == 202
    for voter in voters:
        await admin_adds_member(node, voter.id)
    question_id = (await open_poll(node, "oneOf", ["yes", "no"], minutes=10))["object"]
    await node.settle()
    follower.received.clear()

    for number, voter in enumerate(voters):
        await _vote(node, voter, mastodon_vote(voter.id, question_id, node.actor_id, "yes" if number else "no", 1))
    await node.settle()
    assert await run_poll_worker(node) == 1  # three votes, one Update
    assert await run_poll_worker(node) == 0  # nothing new: nothing sent
    await node.settle()
    for inbox_owner in (*voters, follower):
        updates = [r.activity for r in inbox_owner.received if r.activity["type"] == "Update"]
        assert len(updates) == 1, inbox_owner.name
        sent = updates[0]["object"]
        assert sent["id"] == question_id and sent["votersCount"] == 3 and "closed" not in sent
        assert [o["replies"]["totalItems"] for o in sent["oneOf"]] == [2, 1]

    clock.advance(minutes=11)
    late = voters[0]
    await _vote(node, late, mastodon_vote(late.id, question_id, node.actor_id, "yes", 9))
    await node.settle()
    assert await run_poll_worker(node) == 1  # the close
    await node.settle()
    final = [r.activity for r in follower.received if r.activity["type"] == "Update"][-1]["object"]
    assert final["closed"] == final["endTime"] and final["votersCount"] == 3
    ballots = await polls.ballots_of(node.db.reader, question_id)
    assert ballots[-1]["reason"] == "after close"
    assert await run_poll_worker(node) == 0


async def test_a_ballot_accepted_before_the_close_counts_however_late_the_worker_reaches_it(make_node, remote_actor):
    """The inbox answered 202 a minute before endTime; the worker only gets to it after the
    close (a busy inbox, a slow batch): the ballot is judged by when it was received."""
    clock = FrozenClock()
    node = await make_node("london", start_workers=False, clock=clock)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    for voter in (alice, bob):
        await admin_adds_member(node, voter.id)
    question_id = (await open_poll(node, "oneOf", ["yes", "no"], minutes=10))["object"]
    await node.settle()

    clock.advance(minutes=9)
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "yes", 1))  # 202, not processed
    clock.advance(minutes=2)  # past endTime: the poll worker closes it before the inbox worker runs
    assert await run_poll_worker(node) == 1
    await _vote(node, bob, mastodon_vote(bob.id, question_id, node.actor_id, "no", 1))  # received after the close
    await node.settle()

    by_voter = {b["voter"]: b for b in await polls.ballots_of(node.db.reader, question_id)}
    assert by_voter[alice.id]["counted"] and by_voter[alice.id]["reason"] is None
    assert not by_voter[bob.id]["counted"] and by_voter[bob.id]["reason"] == "after close"
    assert await run_poll_worker(node) == 1  # the counts changed after the close: sent again
    status, served = await get_json(question_id)
    assert status == 200 and served["votersCount"] == 1 and "closed" in served
    assert [o["replies"]["totalItems"] for o in served["oneOf"]] == [1, 0]


async def test_hidden_results_are_zero_until_the_close(make_node, remote_actor):
    clock = FrozenClock()
    node = await make_node("london", start_workers=False, clock=clock)
    alice = await remote_actor("alice")
    await admin_adds_member(node, alice.id)
    question_id = (await open_poll(node, "oneOf", ["yes", "no"], minutes=5, hideResults=True))["object"]
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "yes", 1))
    await node.settle()
    _, question = await get_json(question_id)
    assert question["hideResults"] is True and question["votersCount"] == 0
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [0, 0]
    uuid = question_id.rsplit("/", 1)[1]
    _, results = await get_json(f"{node.base_url}/polls/{uuid}/results", accept="application/json")
    assert results["hidden"] is True and "votersCount" not in results
    assert await run_poll_worker(node) == 0  # nothing to show yet: no Update

    clock.advance(minutes=6)
    assert await run_poll_worker(node) == 1
    _, question = await get_json(question_id)
    assert question["votersCount"] == 1 and [o["replies"]["totalItems"] for o in question["oneOf"]] == [1, 0]
    _, results = await get_json(f"{node.base_url}/polls/{uuid}/results", accept="application/json")
    assert results["hidden"] is False and results["options"][0] == {"name": "yes", "count": 1, "percent": 100.0}


async def test_a_survey_is_served_with_its_questions_in_order(make_node):
    node = await make_node("london", start_workers=False)
    status, result, _ = await publish(
        node,
        {
            "type": "Survey",
            "name": "Members' survey 2025",
            "content": "<p>Tell us.</p>",
            "endTime": closes_in(node, days=7),
            "orderedItems": [
                {"type": "Question", "content": "<p>Q1</p>", "oneOf": ["a", "b"]},
                {"content": "<p>Q2</p>", "anyOf": ["x", "y", "z"]},
            ],
        },
    )
    assert status == 201, result
    _, survey = await get_json(result["object"])
    assert survey["type"] == "Survey" and survey["name"] == "Members' survey 2025" and survey["totalItems"] == 2
    assert undefined_terms(survey, types=True) == []
    questions = [(await get_json(qid))[1] for qid in survey["orderedItems"]]
    assert [q["content"] for q in questions] == ["<p>Q1</p>", "<p>Q2</p>"]
    assert all(q["context"] == survey["id"] and q["endTime"] == survey["endTime"] for q in questions)
    assert "oneOf" in questions[0] and "anyOf" in questions[1]
    status, _answer, _ = await publish(node, {"type": "Update", "object": {"id": survey["id"], "orderedItems": []}})
    assert status == 422


async def test_bad_surveys_are_refused(make_node):
    node = await make_node("london", start_workers=False)
    base = {"type": "Survey", "name": "S", "endTime": closes_in(node, days=1)}
    for body, reason in [
        ({**base, "orderedItems": []}, "orderedItems"),
        ({**base, "name": "", "orderedItems": [{"oneOf": ["a", "b"], "content": "q"}]}, "title"),
        ({**base, "orderedItems": [{"oneOf": ["a"], "content": "q"}]}, "options"),
        (
            {**base, "orderedItems": [{"oneOf": ["a", "b"], "content": "q", "endTime": "2099-01-01T00:00:00Z"}]},
            "one closing time",
        ),
    ]:
        status, answer, _ = await publish(node, body)
        assert status == 400 and reason in answer["error"], answer


async def test_unknown_poll_pages_are_404_json(make_node):
    node = await make_node("london", start_workers=False)
    status, body = await get_json(f"{node.base_url}/polls/nope/results", accept="application/json")
    assert status == 404 and "error" in body


# --- closing at endTime (issue 10): the real poll worker, the default interval, a frozen clock ---


async def _closed_question(question_id: str) -> dict | None:
    status, question = await get_json(question_id)
    return question if status == 200 and "closed" in question else None


async def _updates_of(actor, question_id: str) -> list[dict]:
    return [
        r.activity["object"]
        for r in actor.received
        if r.activity["type"] == "Update" and r.activity["object"].get("id") == question_id
    ]


async def test_a_poll_closes_at_its_end_time_not_at_the_next_counts_interval(make_node, remote_actor):
    clock = FrozenClock()
    node = await make_node("london", clock=clock)  # the real workers, [polls] update_interval_seconds = 60
    assert node.config.polls.update_interval_seconds == 60
    alice, fran = await remote_actor("alice"), await remote_actor("fran")
    status, _ = await fran.post(node.inbox, fran.activity("Follow", node.actor_id))
    assert status == 202
    await admin_adds_member(node, alice.id)
    question_id = (await open_poll(node, "oneOf", ["yes", "no"], minutes=0.5))["object"]
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "yes", 1))
    await eventually(lambda: _counted(node, question_id))
    clock.advance(seconds=10)
    assert await _closed_question(question_id) is None

    clock.advance(seconds=21)  # past endTime; the next counts are due 60 s after the start
    question = await eventually(lambda: _closed_question(question_id))
    assert question["closed"] == question["endTime"] and question["votersCount"] == 1
    await eventually(lambda: _updates_of(fran, question_id))
    updates = await _updates_of(fran, question_id)
    assert len(updates) == 1 and updates[0]["closed"] == question["endTime"]  # the close, with the counts
    assert [o["replies"]["totalItems"] for o in updates[0]["oneOf"]] == [1, 0]


async def test_a_poll_closes_at_its_end_time_after_a_restart(tmp_path):
    clock = FrozenClock()
    config = node_config(tmp_path, "london")
    first = await start_node(config, clock=clock)
    try:
        question_id = (await open_poll(first, "anyOf", ["bread", "wine"], minutes=2))["object"]
    finally:
        await first.stop()
    second = await start_node(config, clock=clock)
    try:
        clock.advance(seconds=30)
        assert await _closed_question(question_id) is None
        clock.advance(minutes=2)
        question = await eventually(lambda: _closed_question(question_id))
        assert question["closed"] == question["endTime"]
    finally:
        await second.stop()


async def test_counts_stay_coalesced_by_the_interval(make_node, remote_actor):
    clock = FrozenClock()
    node = await make_node("london", clock=clock)
    alice, bob, fran = await remote_actor("alice"), await remote_actor("bob"), await remote_actor("fran")
    status, _ = await fran.post(node.inbox, fran.activity("Follow", node.actor_id))
    assert status == 202
    for member in (alice, bob):
        await admin_adds_member(node, member.id)
    question_id = (await open_poll(node, "oneOf", ["yes", "no"], minutes=30))["object"]
    await _vote(node, alice, mastodon_vote(alice.id, question_id, node.actor_id, "yes", 1))
    await eventually(lambda: _counted(node, question_id, 1))
    clock.advance(seconds=20)
    await _vote(node, bob, mastodon_vote(bob.id, question_id, node.actor_id, "no", 1))
    await eventually(lambda: _counted(node, question_id, 2))
    clock.advance(seconds=41)  # the interval has passed: one Update with both votes
    await eventually(lambda: _updates_of(fran, question_id))
    updates = await _updates_of(fran, question_id)
    assert len(updates) == 1 and updates[0]["votersCount"] == 2 and "closed" not in updates[0]


async def _counted(node, question_id: str, count: int = 1) -> bool:
    ballots = await polls.ballots_of(node.db.reader, question_id)
    return sum(1 for row in ballots if row["counted"]) >= count
