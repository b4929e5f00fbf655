"""FEP-8b32: an activity relayed by another server is accepted when it carries its own
actor's object proof, and refused when the proof is missing, forged or broken."""

from __future__ import annotations

import json

from node.core.appkeys import REMOTE_ACTORS
from tests.support.c2s import read_inbox


def _note(author, text: str) -> dict:
    return author.activity(
        "Create",
        {
            "id": author.new_id("notes"),
            "type": "Note",
            "attributedTo": author.id,
            "content": text,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
        to=["https://www.w3.org/ns/activitystreams#Public"],
    )


async def _relay(node, relay, activity: dict) -> tuple[int, dict]:
    """``relay`` POSTs someone else's activity, HTTP-signed with its own key."""
    body = json.dumps(activity).encode()
    return await relay.post(node.inbox, body, headers=relay.signed_headers(node.inbox, body))


async def test_a_relayed_activity_with_its_actors_proof_is_accepted(make_node, remote_actor):
    node = await make_node("london")
    alice, relay = await remote_actor("alice"), await remote_actor("relay")
    signed = alice.with_proof(_note(alice, "<p>relayed, and still alice's</p>"))
    status, body = await _relay(node, relay, signed)
    assert status == 202, body
    assert any(item["id"] == signed["id"] for item in await read_inbox(node))


async def test_a_relayed_activity_without_a_valid_proof_is_refused(make_node, remote_actor):
    node = await make_node("london")
    alice, relay = await remote_actor("alice"), await remote_actor("relay")

    status, body = await _relay(node, relay, _note(alice, "<p>no proof</p>"))
    assert status == 401 and "signed by" in body["error"]

    forged = relay.with_proof(_note(alice, "<p>the relay's proof, not alice's</p>"))
    status, body = await _relay(node, relay, forged)
    assert status == 401

    tampered = alice.with_proof(_note(alice, "<p>what alice said</p>"))
    tampered["object"]["content"] = "<p>what the relay wants her to say</p>"
    status, body = await _relay(node, relay, tampered)
    assert status == 401
    assert await read_inbox(node) == []


async def test_a_malformed_multikey_of_the_actor_is_a_401_with_the_reason_not_a_500(make_node, remote_actor):
    """The proof names a key whose ``publicKeyMultibase`` is no Ed25519 key (a base58 character
    that is not one, then the wrong codec): refused with a JSON reason, never a 500."""
    node = await make_node("london")
    alice, relay = await remote_actor("alice"), await remote_actor("relay")
    honest = alice.document
    for malformed in ("z0OIl", "zQmYtUc4iTCbbfVSDNKvtQqrfyezPPnFvE33wFmutw9PBBk"):

        def document(value=malformed) -> dict:
            served = honest()
            served["assertionMethod"][0]["publicKeyMultibase"] = value
            return served

        alice.document = document  # type: ignore[method-assign]  # what alice's server now serves
        await node.app[REMOTE_ACTORS].get_actor(alice.id, refresh=True)
        status, body = await _relay(node, relay, alice.with_proof(_note(alice, "<p>a key nobody can use</p>")))
        assert status == 401, body
        assert "signed by" in body["error"]
    assert await read_inbox(node) == []
