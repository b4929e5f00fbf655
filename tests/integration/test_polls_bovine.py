"""Polls with members on bovine-driven remote servers: an independent ActivityPub implementation
signs every ballot, and checks the signature of every Update the chapter sends back.

Members are added by the admin with the client-to-server Add to the chapter's members collection.
The node runs without background workers: the test steps the inbox, poll and delivery workers
and moves the node's clock past the polls' endTime (by less than the 5 minutes of clock skew bovine
accepts on the Updates the node signs).
"""

from __future__ import annotations

from node.core.clock import FrozenClock
from node.polls import model as polls
from tests.support.c2s import get_json
from tests.support.polls import admin_adds_member, mastodon_vote, open_poll, run_poll_worker, takahe_vote


def _counts(question: dict) -> dict[str, int]:
    kind = "oneOf" if "oneOf" in question else "anyOf"
    return {option["name"]: option["replies"]["totalItems"] for option in question[kind]}


def _update_of(question_id: str, *, closed: bool):
    def matches(entry: dict) -> bool:
        activity = entry["activity"]
        return (
            activity["type"] == "Update"
            and activity["object"]["id"] == question_id
            and ("closed" in activity["object"]) == closed
        )

    return matches


async def test_bovine_members_vote_and_receive_the_counts(make_node, bovine_peer):
    clock = FrozenClock()
    london = await make_node("london", start_workers=False, clock=clock)
    alice, bob, carol, dave = [await bovine_peer(name) for name in ("alice", "bob", "carol", "dave")]
    for member in (alice, bob, carol):
        await admin_adds_member(london, member.actor_id)
    followed = await alice.follow(london.actor_id)
    assert followed["status"] == 202, followed
    await london.settle()

    single = (await open_poll(london, "oneOf", ["yes", "no"], minutes=2))["object"]
    multiple = (await open_poll(london, "anyOf", ["red", "blue", "green"], minutes=2))["object"]
    await london.settle()

    async def vote(peer, activity):
        sent = await peer.send(london.inbox, activity)
        assert sent["status"] == 202, sent

    chapter = london.actor_id
    await vote(alice, mastodon_vote(alice.actor_id, single, chapter, "yes", 1))
    await vote(bob, mastodon_vote(bob.actor_id, single, chapter, "no", 2))
    await vote(carol, mastodon_vote(carol.actor_id, single, chapter, "yes", 3))
    await vote(bob, mastodon_vote(bob.actor_id, single, chapter, "yes", 4))  # a member votes twice
    await vote(dave, mastodon_vote(dave.actor_id, single, chapter, "yes", 5))  # not a member
    await vote(alice, mastodon_vote(alice.actor_id, multiple, chapter, "red", 6))
    await vote(alice, mastodon_vote(alice.actor_id, multiple, chapter, "blue", 7))
    await vote(bob, mastodon_vote(bob.actor_id, multiple, chapter, "blue", 8))
    await vote(carol, takahe_vote(carol.actor_id, multiple, chapter, "green", 9))  # Takahē's shape
    await london.settle()

    assert await run_poll_worker(london) == 2  # one coalesced Update per poll
    await london.settle()
    for peer in (alice, bob, carol):  # every voter, and alice as a follower too
        for question_id, counts in ((single, {"yes": 2, "no": 1}), (multiple, {"red": 1, "blue": 2, "green": 1})):
            entry = await peer.wait_for(_update_of(question_id, closed=False))
            assert entry["verified"] is True and entry["signer"] == london.actor_id, entry["error"]
            assert _counts(entry["activity"]["object"]) == counts
            assert entry["activity"]["object"]["votersCount"] == 3
    assert not any(e["activity"]["type"] == "Update" for e in await dave.received())

    clock.advance(minutes=3)  # past endTime (bovine accepts a Date up to 5 minutes off its own clock)
    await vote(carol, mastodon_vote(carol.actor_id, multiple, chapter, "red", 10))
    await london.settle()
    assert await run_poll_worker(london) == 2  # the close, announced once per poll
    await london.settle()

    for question_id, counts in ((single, {"yes": 2, "no": 1}), (multiple, {"red": 1, "blue": 2, "green": 1})):
        _, served = await get_json(question_id)
        assert _counts(served) == counts and served["votersCount"] == 3
        assert served["closed"] == served["endTime"]
        entry = await alice.wait_for(_update_of(question_id, closed=True))
        assert entry["verified"] is True and _counts(entry["activity"]["object"]) == counts

    refused = {
        (row["voter"], row["choice"], row["reason"])
        for question_id in (single, multiple)
        for row in await polls.ballots_of(london.db.reader, question_id)
        if not row["counted"]
    }
    assert refused == {
        (bob.actor_id, "yes", "repeated: already voted"),
        (dave.actor_id, "yes", "non-member"),
        (carol.actor_id, "red", "after close"),
    }
