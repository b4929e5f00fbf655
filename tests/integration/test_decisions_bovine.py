"""A decision with members on bovine-driven servers: an independent ActivityPub implementation signs
their ballots on a chapter's copy of the proposal, exactly as it votes on a chapter's poll (Mastodon's
shape), and checks the signature of the receipt the chapter sends back to it alone.

The tree (international node, two regions, three chapters) is the one of ``test_decisions``; alice,
bob and dave run bovine; alice and bob are members of chapter A, dave of no chapter. Receipts are
checked before the shared clock moves past ``endTime`` (bovine accepts a Date up to 5 minutes off).
"""

from __future__ import annotations

import re
from datetime import timedelta

from node.core.clock import FrozenClock, iso
from node.decisions.ballots import NOT_ON_ROLL
from node.polls import model as polls
from tests.integration.test_decisions import OPTIONS, POLICY
from tests.support.c2s import get_json, publish
from tests.support.decisions import MemberHost, build_tree, copy_questions, final_results
from tests.support.polls import mastodon_vote


def _receipt_for(question_id: str):
    def matches(entry: dict) -> bool:
        activity = entry["activity"]
        note = activity.get("object") if activity.get("type") == "Create" else None
        return isinstance(note, dict) and "receipt" in note.get("content", "") and question_id in note["content"]

    return matches


async def test_bovine_members_vote_on_a_decision_copy(make_node, tmp_path, bovine_peer):
    host = await MemberHost().start()
    try:
        await _bovine_vote(make_node, tmp_path, bovine_peer, host)
    finally:
        await host.stop()


async def _bovine_vote(make_node, tmp_path, bovine_peer, host: MemberHost) -> None:
    clock = FrozenClock()
    alice, bob, dave = [await bovine_peer(name) for name in ("alice", "bob", "dave")]
    sizes = {"a": 3, "b": 2, "c": 2}
    nodes = await build_tree(make_node, tmp_path, clock, host, sizes, extra={"a": [alice.actor_id, bob.actor_id]})
    world, a = nodes["world"], nodes["a"]
    body = {
        "type": "Question",
        "content": "<p>Adopt the charter?</p>",
        "oneOf": OPTIONS,
        "endTime": iso(clock.now() + timedelta(minutes=5)),
        "decision": POLICY,
    }
    status, answer, _ = await publish(world, body)
    assert status == 201, answer
    proposal_id = answer["object"]
    question = (await copy_questions(a, proposal_id))[proposal_id]
    _, copy = await get_json(question)  # the copy, as bovine's users see it: a Question of the chapter's
    assert copy["attributedTo"] == a.actor_id and [o["name"] for o in copy["oneOf"]] == OPTIONS

    async def vote(peer, option: str, number: int) -> None:
        sent = await peer.send(a.inbox, mastodon_vote(peer.actor_id, question, a.actor_id, option, number))
        assert sent["status"] == 202, sent

    await vote(alice, "agree", 1)
    await vote(bob, "disagree", 2)
    await vote(bob, "agree", 3)  # a second ballot on oneOf
    await vote(dave, "agree", 4)  # not a member of A: not on its roll
    for number, option in enumerate(("agree", "disagree")):
        assert await host.vote(a, f"a{number}", question, option) == 202
    assert (
        await host.vote(nodes["b"], "b0", (await copy_questions(nodes["b"], proposal_id))[proposal_id], "agree") == 202
    )
    await a.settle()
    await nodes["b"].settle()
    for peer in (alice, bob):  # each bovine voter got its receipt, signed by the chapter, to it alone
        entry = await peer.wait_for(_receipt_for(proposal_id))
        assert entry["verified"] is True and entry["signer"] == a.actor_id, entry["error"]
        assert entry["activity"]["object"]["to"] == [peer.actor_id]
        assert re.search(r"<code>[0-9a-f]{32}</code>", entry["activity"]["object"]["content"])
    assert not any(_receipt_for(proposal_id)(e) for e in await dave.received())
    kept = {
        (row["voter"], row["choice"], row["counted"], row["reason"])
        for row in await polls.ballots_of(a.db.reader, question)
    }
    assert {row for row in kept if row[0] in (alice.actor_id, bob.actor_id, dave.actor_id)} == {
        (alice.actor_id, "agree", 1, None),
        (bob.actor_id, "disagree", 1, None),
        (bob.actor_id, "agree", 0, "repeated: already voted"),
        (dave.actor_id, "agree", 0, NOT_ON_ROLL),
    }
    clock.advance(minutes=5, seconds=1)
    final = await final_results(world, proposal_id)
    counts = {o["name"]: o["count"] for o in final["questions"][0]["options"]}
    assert counts == {"agree": 3, "abstain": 0, "disagree": 2, "block": 0}
    assert final["voters"] == 5 and final["electorate"] == 9
