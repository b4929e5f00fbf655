"""Moderation: domain and actor blocks, reports, inbox rate limits, and the recipients cap."""

from __future__ import annotations

import aiohttp

from tests.support.c2s import eventually, get_json, publish
from tests.support.nodes import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def admin(method: str, url: str, **kwargs) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, headers=AUTH, **kwargs) as response:
            return response.status, await response.json()


async def _follow(node, actor) -> None:
    status, body = await actor.post(node.inbox, actor.activity("Follow", node.actor_id))
    assert status == 202, body


async def _followers(node) -> list[str]:
    _, page = await get_json(f"{node.actor_id}/followers?page=1")
    return page.get("orderedItems", [])


async def test_a_blocked_domain_is_refused_dropped_and_not_delivered_to(make_node, remote_actor):
    node = await make_node("london")
    alice = await remote_actor("alice", host="localhost")  # the domain to block
    bob = await remote_actor("bob")  # 127.0.0.1: not blocked
    await _follow(node, alice)
    await _follow(node, bob)
    await eventually(lambda: _has_n_followers(node, 2))

    async with aiohttp.ClientSession() as session:  # the admin API needs the token
        async with session.post(f"{node.base_url}/admin/blocks", json={"domain": "localhost"}) as response:
            assert response.status == 401
    status, body = await admin("POST", f"{node.base_url}/admin/blocks", json={"domain": "LOCALHOST", "reason": "spam"})
    assert status == 201 and body["value"] == "localhost"
    status, listed = await admin("GET", f"{node.base_url}/admin/blocks")
    assert [(b["kind"], b["value"], b["reason"]) for b in listed["blocks"]] == [("domain", "localhost", "spam")]

    assert await _followers(node) == [bob.id]  # alice is dropped
    status, body = await alice.post(node.inbox, alice.activity("Like", node.actor_id))
    assert status == 403 and "blocked" in body["error"]
    status, _ = await bob.post(node.inbox, bob.activity("Like", node.actor_id))
    assert status == 202

    _, result, _ = await publish(node, {"type": "Note", "content": "hello"})
    assert result["deliveries"] == 1
    await eventually(lambda: _received(bob, result["id"]))
    assert not any(r.activity.get("id") == result["id"] for r in alice.received)

    status, _ = await admin("DELETE", f"{node.base_url}/admin/blocks?domain=localhost")
    assert status == 200
    status, _ = await alice.post(node.inbox, alice.activity("Like", node.actor_id))
    assert status == 202
    status, body = await admin("DELETE", f"{node.base_url}/admin/blocks?domain=localhost")
    assert status == 404
    status, body = await admin("POST", f"{node.base_url}/admin/blocks", json={"domain": "not a domain!"})
    assert status == 400 and "not a domain name" in body["error"]


async def test_an_actor_block_is_never_delivered_and_can_be_undone(make_node, remote_actor):
    node = await make_node("london")
    bob = await remote_actor("bob")
    await _follow(node, bob)
    await eventually(lambda: _has_n_followers(node, 1))

    status, block, _ = await publish(node, {"type": "Block", "object": bob.id})
    assert status == 201 and block["deliveries"] == 0
    assert await _followers(node) == []
    status, body = await bob.post(node.inbox, bob.activity("Like", node.actor_id))
    assert status == 403
    status, body = await admin("GET", f"{node.base_url}/admin/blocks")
    assert [(b["kind"], b["value"]) for b in body["blocks"]] == [("actor", bob.id)]

    status, _, _ = await publish(node, {"type": "Undo", "object": block["id"]})
    assert status == 201
    status, _ = await bob.post(node.inbox, bob.activity("Like", node.actor_id))
    assert status == 202
    assert not any(r.activity["type"] in ("Block", "Undo") for r in bob.received)  # never told


async def test_reports_received_and_sent(make_node, remote_actor):
    node = await make_node("london")
    alice, troll = await remote_actor("alice"), await remote_actor("troll")
    _, posted, _ = await publish(node, {"type": "Note", "content": "a post someone dislikes"})
    flag = alice.activity("Flag", [node.actor_id, posted["object"]], content="I object to this post")
    status, _ = await alice.post(node.inbox, flag)
    assert status == 202

    status, result, _ = await publish(
        node,
        {"type": "Flag", "object": [troll.id, f"{troll.base}/notes/1"], "content": "abusive replies to our members"},
    )
    assert status == 201
    sent = await eventually(lambda: _received(troll, result["id"]))
    assert sent.activity["content"] == "abusive replies to our members" and sent.activity["object"][0] == troll.id

    async def both_listed():
        _, body = await admin("GET", f"{node.base_url}/admin/reports")
        return body["reports"] if len(body["reports"]) == 2 else None

    listed = {r["direction"]: r for r in await eventually(both_listed)}
    assert listed["received"]["reporter"] == alice.id and listed["received"]["content"] == "I object to this post"
    assert listed["received"]["targets"] == [node.actor_id, posted["object"]]
    assert listed["sent"]["targets"][0] == troll.id


async def test_inbox_rate_limits_per_actor_and_per_host(make_node, remote_actor):
    node = await make_node(
        "london",
        inbox_per_actor_burst=3,
        inbox_per_actor_per_minute=6,
        inbox_per_host_burst=6,
        inbox_per_host_per_minute=6,
    )
    alice, carol = await remote_actor("alice"), await remote_actor("carol")  # both on 127.0.0.1
    statuses = [(await alice.post(node.inbox, alice.activity("Like", node.actor_id)))[0] for _ in range(4)]
    assert statuses == [202, 202, 202, 429]

    async with aiohttp.ClientSession() as session:  # the refusal says when to come back
        body = __import__("json").dumps(alice.activity("Like", node.actor_id)).encode()
        async with session.post(node.inbox, data=body, headers=alice.signed_headers(node.inbox, body)) as response:
            assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
            assert "too many requests" in (await response.json())["error"]

    # every request so far took one of the host's 6 tokens (refused ones too): carol, with a full
    # bucket of her own, gets the host's last token, then waits like alice
    statuses = [(await carol.post(node.inbox, carol.activity("Like", node.actor_id)))[0] for _ in range(3)]
    assert statuses == [202, 429, 429]


async def test_too_many_recipients_are_refused(make_node, remote_actor):
    node = await make_node("london", max_recipients=10)
    alice = await remote_actor("alice")
    crowd = [f"{alice.base}/users/u{n}" for n in range(11)]
    status, body = await alice.post(node.inbox, alice.activity("Like", node.actor_id, to=crowd))
    assert status == 400 and "at most 10" in body["error"]
    status, _ = await alice.post(node.inbox, alice.activity("Like", node.actor_id, to=crowd[:5]))
    assert status == 202


async def _has_n_followers(node, n: int) -> bool:
    return len(await _followers(node)) == n


async def _received(actor, activity_id: str):
    return next((r for r in actor.received if r.activity.get("id") == activity_id), None)
