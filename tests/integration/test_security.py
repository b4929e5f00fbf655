"""Issue 14: what an outside security review found, each as the attack it was, on loopback.

Every test here failed before its fix: it sends what the reviewer sent (a real signed request,
a real browser-like session, a real peer on 127.0.0.1 that misbehaves) and checks what a
remote admin or a user would see. The nodes run without background workers unless the test
needs them, and step them by hand.
"""

from __future__ import annotations

import json

import aiohttp

from node import polls
from node.db import fetch_all
from tests.support.c2s import get_json
from tests.support.polls import admin_adds_member, mastodon_vote, open_poll

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def refused(status: int, body: dict, expected: int, *words: str) -> None:
    assert status == expected, body
    assert isinstance(body.get("error"), str) and body["error"], body
    for word in words:
        assert word.lower() in body["error"].lower(), body


# --- 8. signatures are bound to this node's host -------------------------------------------------

async def test_a_post_signed_for_another_host_is_refused(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    follow = alice.activity("Follow", london.actor_id)
    body = json.dumps(follow).encode()
    headers = alice.signed_headers("https://other.example/inbox", body)
    assert headers["Host"] == "other.example"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{london.base_url}/inbox", data=body, headers=headers) as response:
            status, answer = response.status, await response.json(content_type=None)
    refused(status, answer, 401, "signed for the host", "other.example")
    assert await london.inbox_worker.run_single_cycle() == 0
    assert (await alice.post(f"{london.base_url}/inbox", follow))[0] == 202  # signed for this node: accepted


# --- 9. an object proof relaxes the object-host check only once it verifies --------------------------

async def test_a_vote_on_another_host_with_a_garbage_proof_is_refused(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await admin_adds_member(node, alice.id)
    question_id = (await open_poll(node, "oneOf", ["bread", "cheese"]))["object"]
    vote = mastodon_vote(alice.id, question_id, node.actor_id, "bread", 1)
    vote["object"]["id"] = "http://other.example/notes/1"
    without_proof = await alice.post(node.inbox, vote)
    refused(*without_proof, 400, "not on its actor's host")

    for proof in ({"type": "DataIntegrityProof", "proofValue": "garbage"}, "garbage"):
        status, answer = await alice.post(node.inbox, {**vote, "proof": proof})
        refused(status, answer, 400, "not on its actor's host")
    await node.settle()
    assert await polls.ballots_of(node.db.reader, question_id) == []
    _, question = await get_json(question_id)
    assert question["votersCount"] == 0


# --- 3. one host cannot claim another host's key ids -------------------------------------------------

async def test_an_actor_cannot_list_a_key_id_on_another_host(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    eve, victor = await remote_actor("eve"), await remote_actor("victor")
    honest = eve.document()
    claimed = {"id": victor.key_id, "owner": eve.id, "publicKeyPem": honest["publicKey"]["publicKeyPem"]}
    eve.document = lambda: {**honest, "publicKey": [honest["publicKey"], claimed]}

    assert (await eve.post(london.inbox, eve.activity("Follow", london.actor_id)))[0] == 202  # eve's actor is fetched
    stored = await fetch_all(london.db.reader, "SELECT key_id, actor_id FROM remote_keys")
    assert [(row["key_id"], row["actor_id"]) for row in stored] == [(eve.key_id, eve.id)]

    like = eve.activity("Like", london.actor_id)
    body = json.dumps(like).encode()
    status, answer = await eve.post(london.inbox, body, headers=eve.signed_headers(london.inbox, body,
                                                                                    key_id=victor.key_id))
    refused(status, answer, 401, "signature")
    keys = {row["key_id"]: row["actor_id"] for row in await fetch_all(london.db.reader,
                                                                      "SELECT key_id, actor_id FROM remote_keys")}
    assert keys.get(victor.key_id) in (None, victor.id)  # victor's key id belongs to victor alone
