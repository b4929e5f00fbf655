"""Delivery outcomes, stepped one cycle at a time on a frozen clock.

The node runs without background workers; the test runs the delivery worker's cycles and
moves the clock, so retries and pauses are checked exactly and without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime

from federation.signatures import read_signature_claim, verify_claim
from node.core import deliveries as store
from node.core import follows
from node.core.clock import FrozenClock, to_epoch
from tests.support.c2s import get_json, publish


async def _followed_by(node, actor) -> None:
    """``actor`` follows the node; the node's Accept is delivered."""
    status, body = await actor.post(node.inbox, actor.activity("Follow", node.actor_id))
    assert status == 202, body
    await node.settle()
    assert any(r.activity["type"] == "Accept" for r in actor.received)
    actor.received.clear()


async def _deliveries(node, activity_id):
    return await store.deliveries_of(node.db.reader, activity_id)


async def test_double_knock_retries_with_rfc9421_after_a_401(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await _followed_by(node, alice)
    alice.inbox_policy = lambda headers: 202 if "Signature-Input" in headers else 401  # an RFC 9421-only server

    _, result, _ = await publish(node, {"type": "Note", "content": "double knock"})
    await node.settle()

    cavage, rfc9421 = alice.received
    assert "Signature-Input" not in cavage.headers and "Signature" in cavage.headers
    assert "Signature-Input" in rfc9421.headers and rfc9421.activity["id"] == result["id"]
    _, actor = await get_json(node.actor_id)
    claim = read_signature_claim("POST", "/inbox", rfc9421.headers, rfc9421.body, now=datetime.now(UTC))
    assert claim.scheme == "rfc9421" and claim.key_id == actor["publicKey"]["id"]
    verify_claim(claim, actor["publicKey"]["publicKeyPem"])
    [row] = await _deliveries(node, result["id"])
    assert row["state"] == "done" and row["last_status"] == 202


async def test_a_refusing_inbox_makes_the_delivery_dead_with_its_reason(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await _followed_by(node, alice)
    alice.inbox_status = 410

    _, result, _ = await publish(node, {"type": "Note", "content": "to a closed account"})
    await node.settle()
    [row] = await _deliveries(node, result["id"])
    assert row["state"] == "dead" and row["last_status"] == 410 and row["last_error"].startswith("410")


async def test_retry_after_is_honoured_and_the_host_paused(make_node, remote_actor):
    clock = FrozenClock(datetime.now(UTC))
    node = await make_node("london", start_workers=False, clock=clock)
    alice = await remote_actor("alice")
    await _followed_by(node, alice)
    alice.inbox_status, alice.inbox_headers = 429, {"Retry-After": "600"}

    _, result, _ = await publish(node, {"type": "Note", "content": "too fast"})
    assert await node.delivery_worker.run_single_cycle() == 1
    [row] = await _deliveries(node, result["id"])
    assert row["state"] == "queued" and row["last_status"] == 429
    assert row["next_attempt_at"] >= to_epoch(clock.now()) + 600
    assert f"127.0.0.1:{alice.port}" in node.delivery_worker.paused_hosts

    clock.advance(seconds=300)  # not yet: nothing is due
    assert await node.delivery_worker.run_single_cycle() == 0
    alice.inbox_status, alice.inbox_headers = 202, {}
    clock.advance(hours=7)  # past any backoff
    assert await node.delivery_worker.run_single_cycle() == 1
    [row] = await _deliveries(node, result["id"])
    assert row["state"] == "done" and row["attempts"] == 2
    assert not node.delivery_worker.paused_hosts


async def test_one_delivery_per_shared_inbox(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    await _followed_by(node, alice)
    await _followed_by(node, bob)
    async with node.db.transaction() as conn:  # carol lives on alice's server, behind the same shared inbox
        await follows.upsert_follower(
            conn,
            username="london",
            follower_id=f"{alice.base}/users/carol",
            follow_id=f"{alice.base}/follows/1",
            inbox=f"{alice.base}/users/carol/inbox",
            shared_inbox=alice.shared_inbox,
            state="accepted",
            now=0,
        )
    _, followers = await get_json(f"{node.actor_id}/followers")
    assert followers["totalItems"] == 3
    _, result, _ = await publish(node, {"type": "Note", "content": "to everyone"})
    assert result["deliveries"] == 2  # three followers on two hosts: one shared inbox each
    await node.settle()
    for actor in (alice, bob):
        [received] = actor.received
        assert received.path == "/inbox" and received.activity["id"] == result["id"]
