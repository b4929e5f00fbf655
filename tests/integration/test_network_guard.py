"""Where the node may connect, hop by hop and lookup by lookup.

With ``allow_private_addresses = false`` and only ``127.0.0.1/32`` in ``allowed_networks``,
127.0.0.1 stands for an allowed peer and 127.0.0.2 for a private address the node must
never reach. A decoy server listens on 127.0.0.2 and counts what reaches it: nothing may.
"""

from __future__ import annotations

import socket

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from federation.addresses import GuardedResolver, parse_networks
from federation.client import FederationClient, FetchError
from node.core.clock import Clock
from tests.support.c2s import publish
from tests.support.nodes import free_port

ALLOWED = parse_networks(["127.0.0.1/32"])


class Server:
    """A loopback server with a handler; counts the requests it gets."""

    def __init__(self, host: str, handler) -> None:
        self.host, self.port, self.hits, self._handler = host, free_port(), 0, handler
        self._runner = None

    async def _count(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        return await self._handler(request, self)

    async def start(self) -> Server:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._count)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()


async def _document(request: web.Request, server: Server) -> web.Response:
    return web.json_response(
        {"id": f"http://{request.host}{request.path}", "type": "Note"}, content_type="application/activity+json"
    )


def _client(session: aiohttp.ClientSession) -> FederationClient:
    return FederationClient(
        session,
        clock=Clock(),
        allow_private=False,
        allowed_networks=ALLOWED,
        max_fetch_bytes=1 << 20,
        fetch_timeout=5,
        delivery_timeout=5,
    )


@pytest.fixture
async def decoy():
    server = await Server("127.0.0.2", _document).start()
    yield server
    await server.stop()


async def test_a_redirect_to_a_private_address_is_refused_before_connecting(decoy):
    async def redirect(request, server):
        raise web.HTTPFound(f"http://127.0.0.2:{decoy.port}/secret")

    origin = await Server("127.0.0.1", redirect).start()
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private=False, allowed_networks=ALLOWED))
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(FetchError, match="127.0.0.2 is not a public address"):
                await _client(session).get_json(f"http://127.0.0.1:{origin.port}/start", signer=None)
    finally:
        await origin.stop()
    assert origin.hits == 1 and decoy.hits == 0


class Rebinding(AbstractResolver):
    """A name that first resolves to the allowed peer, then to a private address."""

    def __init__(self) -> None:
        self.answers = ["127.0.0.1", "127.0.0.2"]
        self.lookups = 0

    async def resolve(self, host: str, port: int = 0, family=socket.AF_INET):
        address = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


async def test_dns_rebinding_the_connection_goes_where_the_check_looked(decoy):
    peer = await Server("127.0.0.1", _document).start()
    rebinding = Rebinding()
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=False, allowed_networks=ALLOWED, inner=rebinding),
        use_dns_cache=False,
        force_close=True,
    )
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            client = _client(session)
            document = await client.get_json(f"http://rebind.test:{peer.port}/notes/1", signer=None)
            assert document["type"] == "Note" and peer.hits == 1  # checked 127.0.0.1, connected to 127.0.0.1
            decoy_url = f"http://rebind.test:{decoy.port}/notes/1"  # the name now answers 127.0.0.2
            with pytest.raises(FetchError, match="resolves to 127.0.0.2"):
                await client.get_json(decoy_url, signer=None)
    finally:
        await peer.stop()
    assert rebinding.lookups == 2 and decoy.hits == 0


async def test_a_node_reaches_allowed_networks_only(make_node, remote_actor):
    node = await make_node("london", allow_private_addresses=False, allowed_networks=("127.0.0.1/32",))
    alice = await remote_actor("alice")  # on 127.0.0.1: allowed
    status, body, _ = await publish(node, {"type": "Follow", "object": alice.id})
    assert status == 201, body
    status, body, _ = await publish(node, {"type": "Follow", "object": f"http://127.0.0.2:{alice.port}/users/alice"})
    assert status == 422 and "not a public address" in body["error"]
