"""A burst of new senders from one large, honest server is served, not refused (issue 23).

When a chapter's post travels far on a big server, hundreds of its users the node has never
seen send at once: each request needs its signer's key fetched. The key-fetch gate
(``federation.fetchgate``) fetches two at a time per host and makes the rest wait their turn
(bounded) rather than refusing them; the tarpit tests (tests/integration/test_security.py,
test_inbox_deadlines.py, tests/unit/test_fetchgate.py) hold that a slow host is still refused.

The node runs as production runs it, in its own process (``tests.support.subprocess_node``),
with the config example's limits; the member host is one aiohttp server on loopback serving
every actor's document.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import aiohttp
import pytest

from federation.signatures import sign_request
from tests.support.decisions import MemberHost
from tests.support.subprocess_node import SubprocessNode

SENDERS = 500
WITHIN_SECONDS = 10.0


@pytest.fixture
async def node(tmp_path):
    node = SubprocessNode(tmp_path / "node", "london")
    try:
        yield await node.start()
    finally:
        node.kill()


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


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
