"""A burst of new senders from one large, honest server is served, not refused (issue 23).

When a chapter's post travels far on a big server, hundreds of its users the node has never
seen send at once: each request needs its signer's key fetched. The key-fetch gate
(``federation.fetchgate``) fetches two at a time per host and makes the rest wait their turn
(bounded) rather than refusing them; the tarpit tests (tests/integration/test_security.py,
test_inbox_deadlines.py, tests/unit/test_fetchgate.py) hold that a slow host is still refused.

The node runs as production runs it, in its own process (``tests.support.subprocess_node``),
with the config example's limits; the member host is one aiohttp server on loopback serving
every actor's document (one key pair for all, which costs the node nothing less: each key id is
fetched and parsed), answering 404 for NodeInfo and 202 to deliveries, and counting the GETs.
First contact learns each thing once: one GET per key id, one NodeInfo per host (its failure
remembered too).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from federation.signatures import sign_request
from tests.support.c2s import eventually
from tests.support.decisions import MemberHost
from tests.support.raw_peer import RawPeer
from tests.support.remote_actor import new_rsa_key
from tests.support.stores import query
from tests.support.subprocess_node import SubprocessNode

SENDERS = 500
WITHIN_SECONDS = 10.0


@pytest.fixture
async def node(tmp_path):
    # the example config's limits; a 3 s fetch timeout, so a tarpit's two GETs end sooner
    node = SubprocessNode(tmp_path / "node", "london", overrides={"federation": {"fetch_timeout_seconds": 3}})
    try:
        yield await node.start()
    finally:
        node.kill()


class CountingHost(MemberHost):
    """A MemberHost that counts the GETs it answers: actor documents and NodeInfo (404)."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: Counter[str] = Counter()

    async def start(self) -> CountingHost:
        @web.middleware
        async def count(request: web.Request, handler):
            if request.method == "GET":
                self.gets["nodeinfo" if "nodeinfo" in request.path else "actor"] += 1
            return await handler(request)

        app = web.Application(middlewares=[count])
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self


@pytest.fixture
async def member_host():
    host = await CountingHost().start()
    yield host
    await host.stop()


def _done(node: SubprocessNode) -> int:
    return query(node.database, "SELECT COUNT(*) FROM inbox_items WHERE state = 'done'")[0][0]


async def _all_done(node: SubprocessNode, count: int) -> bool:
    return _done(node) >= count


def _signed_follow(host: MemberHost, node: SubprocessNode, index: int) -> tuple[bytes, dict[str, str]]:
    name = f"m{index}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{host.id(name)}/follows/1",
        "type": "Follow",
        "actor": host.id(name),
        "object": node.actor_id,
    }
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        node.shared_inbox,
        body,
        key_id=f"{host.id(name)}#main-key",
        private_key=host.key,
        now=datetime.now(UTC),
        headers={"Content-Type": "application/activity+json"},
    )
    return body, headers


async def test_five_hundred_new_senders_from_one_host_are_all_answered_202(node, member_host):
    signed = [_signed_follow(member_host, node, n) for n in range(SENDERS)]  # signed before the clock runs
    connector = aiohttp.TCPConnector(limit=SENDERS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
            async with session.post(node.shared_inbox, data=body, headers=headers) as response:
                return response.status, await response.text()

        started = time.monotonic()
        answers = await asyncio.gather(*(post(body, headers) for body, headers in signed))
        elapsed = time.monotonic() - started
    print(f"{SENDERS} new senders answered in {elapsed:.2f} s")
    refused = [text for status, text in answers if status != 202]
    assert not refused, f"{len(refused)} of {SENDERS} not accepted, e.g. {refused[:3]}"
    assert elapsed < WITHIN_SECONDS, f"{SENDERS} new senders took {elapsed:.1f} s"

    await eventually(lambda: _all_done(node, SENDERS), timeout=60)
    assert member_host.gets == {"actor": SENDERS, "nodeinfo": 1}  # each key once; the host's NodeInfo once


TARPIT_SENDERS = 40
HONEST_SENDERS = 200


async def test_an_honest_burst_is_served_while_a_tarpit_is_refused(node, member_host):
    """At the same time: 40 new senders whose keys live on a server that never answers, and 200
    new senders on a responsive one. The tarpit gets at most two GETs, its senders are refused
    (401) once it proves slow; every honest sender is answered 202."""
    tarpit = await RawPeer(behaviour="silent").start()
    try:
        tarpit_key = new_rsa_key()
        tarpit_follows = [
            _follow_signed_as(f"{tarpit.base}/users/t{n}", tarpit_key, node, n) for n in range(TARPIT_SENDERS)
        ]
        honest = [_signed_follow(member_host, node, n) for n in range(HONEST_SENDERS)]
        connector = aiohttp.TCPConnector(limit=TARPIT_SENDERS + HONEST_SENDERS)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

            async def post(body: bytes, headers: dict[str, str]) -> int:
                async with session.post(node.shared_inbox, data=body, headers=headers) as response:
                    return response.status

            started = time.monotonic()
            bad = [asyncio.ensure_future(post(*signed)) for signed in tarpit_follows]
            await asyncio.sleep(0.2)  # the tarpit's fetches are running when the honest burst arrives
            good = await asyncio.gather(*(post(*signed) for signed in honest))
            honest_seconds = time.monotonic() - started
            refused = await asyncio.gather(*bad)
        assert good == [202] * HONEST_SENDERS and honest_seconds < WITHIN_SECONDS, (honest_seconds, Counter(good))
        assert refused == [401] * TARPIT_SENDERS, Counter(refused)
        assert len(tarpit.requests) <= 2  # [federation] key_fetches_per_host: the tarpit never earned more
    finally:
        await tarpit.stop()


def _follow_signed_as(actor_id: str, key, node: SubprocessNode, index: int) -> tuple[bytes, dict[str, str]]:
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor_id}/follows/{index}",
        "type": "Follow",
        "actor": actor_id,
        "object": node.actor_id,
    }
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        node.shared_inbox,
        body,
        key_id=f"{actor_id}#main-key",
        private_key=key,
        now=datetime.now(UTC),
        headers={"Content-Type": "application/activity+json"},
    )
    return body, headers
