"""Operating a node: /healthz, and Prometheus metrics of traffic, queues and deliveries."""

from __future__ import annotations

import aiohttp

from tests.support.c2s import get_json, publish
from tests.support.forms import browser_like_session, post_form
from tests.support.nodes import ADMIN_TOKEN


async def _metrics(node) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{node.base_url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
            assert r.status == 200 and r.content_type == "text/plain"
            text = await r.text()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_healthz(make_node):
    node = await make_node("london")
    status, body = await get_json(f"{node.base_url}/healthz", accept="*/*")
    assert status == 200 and body == {"status": "ok"}


async def test_metrics_count_inbox_traffic_queues_and_delivery_outcomes(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice, gone = await remote_actor("alice"), await remote_actor("gone")
    for actor in (alice, gone):
        status, _ = await actor.post(node.inbox, actor.activity("Follow", node.actor_id))
        assert status == 202
    status, _ = await alice.post(node.inbox, b"{not json")
    assert status == 400

    before = await _metrics(node)
    assert before['chapterhouse_http_requests_total{route="inbox",status="202"}'] == 2
    assert before['chapterhouse_http_requests_total{route="inbox",status="400"}'] == 1
    assert before['chapterhouse_inbox_items{state="queued"}'] == 2

    await node.settle()  # the two Accepts go out
    gone.inbox_status = 500
    await publish(node, {"type": "Note", "content": "hello"})
    await node.settle()
    after = await _metrics(node)
    assert after['chapterhouse_inbox_items{state="done"}'] == 2
    assert after['chapterhouse_delivery_outcomes_total{outcome="done",status="202"}'] == 3  # 2 Accepts + 1 Create
    assert after['chapterhouse_delivery_outcomes_total{outcome="retry",status="500"}'] == 1
    assert after['chapterhouse_deliveries{state="queued"}'] == 1
    assert after["chapterhouse_hosts_in_backoff"] == 1


async def test_metrics_need_the_admin_token(make_node):
    node = await make_node("london")
    status, body = await get_json(f"{node.base_url}/metrics", accept="*/*")
    assert status == 401 and "admin token" in body["error"]


async def test_no_secret_reaches_the_log(tmp_path):
    """The admin token and a member's password go through every path that takes them; the
    node's own log (access log included) never shows either."""
    from tests.support.subprocess_node import SubprocessNode

    password = "correct-horse-battery-staple"
    node = SubprocessNode(tmp_path / "node")
    await node.start()
    try:
        assert (await publish(node, {"type": "Note", "content": "hello"}))[0] == 201
        async with browser_like_session() as session:
            await post_form(session, node, "/login/admin", {"token": ADMIN_TOKEN, "next": "/"})
            await post_form(session, node, "/login/admin", {"token": "wrong-" + ADMIN_TOKEN})
            await session.get(f"{node.base_url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            await session.get(f"{node.base_url}/metrics", headers={"Authorization": "Bearer wrong-token-123"})
            join = await session.get(f"{node.base_url}/join")
            if join.status == 200:  # local accounts: the password goes through sign-up and sign-in
                assert (
                    await post_form(
                        session, node, "/join", {"username": "amira", "display_name": "Amira", "password": password}
                    )
                )[0] == 201
                await post_form(session, node, "/login", {"username": "amira", "password": password})
                await post_form(session, node, "/login", {"username": "amira", "password": password + "x"})
    finally:
        node.kill()
    log = node.log_path.read_text()
    assert "POST /users/london/outbox" in log  # the access log is there...
    assert ADMIN_TOKEN not in log and password not in log  # ...and no secret
