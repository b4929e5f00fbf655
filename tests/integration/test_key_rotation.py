"""Key rotation: the node follows a remote actor's new key, and the old key stops working."""

from __future__ import annotations

from tests.support.c2s import eventually, read_inbox
from tests.support.remote_actor import new_rsa_key


async def _follow(node, actor) -> None:
    status, body = await actor.post(node.inbox, actor.activity("Follow", node.actor_id))
    assert status == 202, body


async def test_update_of_the_actor_carries_the_new_key_and_retires_the_old(make_node, remote_actor):
    node = await make_node("london")
    alice = await remote_actor("alice")
    await _follow(node, alice)  # the node now caches alice's first key
    old_key = alice.key

    alice.key = new_rsa_key()  # alice's server now publishes the new key...
    update = alice.activity("Update", alice.document(), to=[node.actor_id])
    status, body = await alice.post(
        node.inbox, update, headers=alice.signed_headers(node.inbox, _bytes(update), key=old_key)
    )
    assert status == 202, body  # ...and tells the node, signed with the key it still knows

    async def processed():
        return any(a["id"] == update["id"] for a in await read_inbox(node))

    await eventually(processed)
    like = alice.activity("Like", node.actor_id)
    status, body = await alice.post(node.inbox, like)  # signed with the new key
    assert status == 202, body

    stolen = alice.activity("Like", node.actor_id)
    status, body = await alice.post(
        node.inbox, stolen, headers=alice.signed_headers(node.inbox, _bytes(stolen), key=old_key)
    )
    assert status == 401 and "does not verify" in body["error"]


async def test_a_new_key_is_fetched_when_a_signature_fails_with_the_cached_one(make_node, remote_actor):
    node = await make_node("london")
    alice = await remote_actor("alice")
    await _follow(node, alice)
    old_key = alice.key
    alice.key = new_rsa_key()  # rotated without telling anyone

    status, body = await alice.post(node.inbox, alice.activity("Like", node.actor_id))
    assert status == 202, body  # the node refetched the key once and verified
    forged = alice.activity("Like", node.actor_id)
    status, body = await alice.post(
        node.inbox, forged, headers=alice.signed_headers(node.inbox, _bytes(forged), key=old_key)
    )
    assert status == 401


def _bytes(activity: dict) -> bytes:
    import json

    return json.dumps(activity).encode()
