"""Interoperability with an independent implementation: a remote server driven by `bovine`.

bovine runs in its own virtual environment as a separate process (tests/peers/bovine_peer);
it finds the chapter with its own WebFinger client, fetches it with its own signed GET, and
checks every request the chapter sends with its own HTTP-signature verifier.
"""

from __future__ import annotations

from tests.support.c2s import eventually, get_json, publish, read_inbox


async def test_bovine_finds_follows_hears_and_unfollows_the_chapter(make_node, bovine_peer):
    london = await make_node("london")
    alice = await bovine_peer("alice")
    handle = f"london@127.0.0.1:{london.config.node.listen_port}"

    found = await alice.lookup(handle)  # bovine's WebFinger, then bovine's signed GET of the actor
    assert found["actor_id"] == london.actor_id
    actor = found["actor"]
    assert actor["type"] == "Group" and actor["preferredUsername"] == "london"
    assert actor["publicKey"]["owner"] == london.actor_id
    assert actor["endpoints"]["sharedInbox"] == f"{london.base_url}/inbox"

    followed = await alice.follow(london.actor_id)
    assert followed["status"] == 202, followed

    accept = await alice.wait_for(lambda e: e["activity"]["type"] == "Accept")
    assert accept["verified"] is True, accept["error"]
    assert accept["signer"] == london.actor_id
    assert accept["activity"]["object"]["id"] == followed["follow_id"]

    _, followers = await get_json(f"{london.actor_id}/followers?page=1")
    assert followers["orderedItems"] == [alice.actor_id]

    status, result, _ = await publish(london, {"type": "Note", "content": "<p>Minutes of Tuesday's meeting</p>"})
    assert status == 201
    create = await alice.wait_for(lambda e: e["activity"]["type"] == "Create")
    assert create["verified"] is True, create["error"]
    assert create["signer"] == london.actor_id
    assert create["activity"]["object"]["id"] == result["object"]
    assert create["activity"]["object"]["content"] == "<p>Minutes of Tuesday's meeting</p>"

    undone = await alice.undo_follow(followed["follow_id"])
    assert undone["status"] == 202, undone

    async def no_followers():
        _, collection = await get_json(f"{london.actor_id}/followers")
        return collection["totalItems"] == 0

    await eventually(no_followers)


async def test_chapter_follows_a_bovine_actor_and_verifies_its_accept(make_node, bovine_peer):
    london = await make_node("london")
    alice = await bovine_peer("alice")

    status, result, _ = await publish(london, {"type": "Follow", "object": alice.actor_id})
    assert status == 201, result

    follow = await alice.wait_for(lambda e: e["activity"]["type"] == "Follow")
    assert follow["verified"] is True, follow["error"]  # bovine checked our signature
    assert follow["signer"] == london.actor_id

    async def accepted():  # bovine's Accept passed our verifier and was processed
        _, collection = await get_json(f"{london.actor_id}/following?page=1")
        return collection.get("orderedItems", []) == [alice.actor_id]

    await eventually(accepted)
    assert any(a["type"] == "Accept" and a["actor"] == alice.actor_id for a in await read_inbox(london))


async def test_bovine_signed_get_passes_authorized_fetch(make_node, bovine_peer):
    london = await make_node("london", authorized_fetch=True)
    alice = await bovine_peer("alice")

    status, body = await get_json(london.actor_id)
    assert status == 401 and "signed" in body["error"]
    fetched = await alice.fetch(london.actor_id)  # signed by bovine
    assert fetched["status"] == 200 and fetched["document"]["id"] == london.actor_id
