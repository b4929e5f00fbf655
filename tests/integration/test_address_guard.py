"""Where the node refuses to connect, and how every outbound fetch is bounded.

A node with ``allow_private_addresses = false`` (the production default) must not be steered
into fetching from loopback, private or link-local addresses: not by a Follow the admin
types, not by a keyId in a remote request, not by a name that resolves to loopback. Only
loopback servers are ever contacted here; public addresses are checked, never connected to.

Bounds on :meth:`FederationClient.get_json` (redirect count, body size, total time) are
checked against real loopback servers with ``allow_private=True``.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from federation.addresses import BlockedAddress, GuardedResolver, check_url, is_public_address
from federation.client import MAX_REDIRECTS, FederationClient, FetchError, make_session
from node.core.clock import Clock
from tests.support.c2s import get_json, publish, read_inbox
from tests.support.nodes import free_port

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


# --- a node that keeps to public addresses --------------------------------------------------------


@pytest.fixture
async def guarded(make_node):
    return await make_node("london", start_workers=False, allow_private_addresses=False)


async def test_follow_of_a_loopback_address_is_422_not_public(guarded, remote_actor):
    alice = await remote_actor("alice")  # a real server: the refusal is not a connection failure
    status, body, _ = await publish(guarded, {"type": "Follow", "object": alice.id})
    assert status == 422, body
    assert "127.0.0.1 is not a public address" in body["error"]
    assert "allow_private_addresses" in body["error"]
    _, following = await get_json(f"{guarded.actor_id}/following")
    assert following["totalItems"] == 0


async def test_follow_of_localhost_is_422(guarded, remote_actor):
    alice = await remote_actor("alice")
    status, body, _ = await publish(guarded, {"type": "Follow", "object": f"http://localhost:{alice.port}/users/alice"})
    assert status == 422, body
    assert "localhost is a loopback name" in body["error"]
    assert "allow_private_addresses" in body["error"]


def private_name() -> tuple[str, str]:
    """This machine's host name and the non-public address it resolves to (from /etc/hosts)."""
    name = socket.gethostname()
    try:
        address = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except OSError:
        pytest.skip(f"the host name {name!r} does not resolve here")
    if is_public_address(address):
        pytest.skip(f"the host name {name!r} resolves to a public address")
    return name, address


async def test_follow_of_a_name_that_resolves_to_a_private_address_is_422(guarded, remote_actor):
    alice = await remote_actor("alice")
    name, address = private_name()  # a name, not an IP literal: only the resolver can catch it
    status, body, _ = await publish(guarded, {"type": "Follow", "object": f"http://{name}:{alice.port}/users/alice"})
    assert status == 422, body
    assert f"{name} resolves to {address}, which is not public" in body["error"]


async def test_follow_of_a_decimal_encoded_loopback_address_is_422(guarded, remote_actor):
    alice = await remote_actor("alice")
    status, body, _ = await publish(
        guarded, {"type": "Follow", "object": f"http://2130706433:{alice.port}/users/alice"}
    )
    assert status == 422, body
    assert "2130706433" in body["error"]


async def test_signed_post_whose_key_is_on_loopback_is_401(guarded, remote_actor):
    alice = await remote_actor("alice")
    activity = alice.activity(
        "Create",
        {
            "id": alice.new_id("objects"),
            "type": "Note",
            "attributedTo": alice.id,
            "content": "<p>hi</p>",
            "to": [PUBLIC],
        },
        to=[PUBLIC],
    )
    status, body = await alice.post(guarded.inbox, activity)
    assert status == 401, body
    assert "could not get the signing key" in body["error"] and alice.key_id in body["error"]
    assert "not a public address" in body["error"]
    assert await read_inbox(guarded) == []
    assert await guarded.inbox_worker.run_single_cycle() == 0


# --- check_url, GuardedResolver ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/users/a",
        "https://172.16.5.4/users/a",
        "http://192.168.1.1/users/a",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/users/a",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://[::1]/users/a",
        "http://[::ffff:127.0.0.1]/users/a",
        "http://[::ffff:10.0.0.1]/users/a",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://localhost/users/a",
        "http://api.localhost/users/a",
    ],
)
def test_check_url_refuses_non_public_hosts(url):
    with pytest.raises(BlockedAddress) as caught:
        check_url(url, allow_private=False)
    assert "allow_private_addresses" in str(caught.value)
    check_url(url, allow_private=True)  # what tests and local demos may switch on


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.org:70/_GET",
        "ftp://example.org/x",
        "javascript:alert(1)",
        "data:application/json,{}",
    ],
)
def test_check_url_refuses_other_schemes_even_when_private_is_allowed(url):
    for allow_private in (False, True):
        with pytest.raises(BlockedAddress, match="not an http"):
            check_url(url, allow_private=allow_private)


def test_check_url_refuses_a_url_without_host():
    with pytest.raises(BlockedAddress, match="no host"):
        check_url("http:///users/a", allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://93.184.216.34/users/a", "https://[2606:4700:4700::1111]/users/a", "https://example.org/users/a"]
)
def test_check_url_allows_public_addresses_and_leaves_names_to_the_resolver(url):
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("fe80::1%eth0", False),
        ("224.0.0.1", False),
        ("169.254.169.254", False),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(address) is public


@pytest.mark.parametrize("host", ["localhost", "127.1", "2130706433"])
async def test_guarded_resolver_refuses_names_that_resolve_to_loopback(host):
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(BlockedAddress, match="resolves to 127.0.0.1, which is not public"):
            await resolver.resolve(host, 80, socket.AF_INET)
    finally:
        await resolver.close()


async def test_guarded_resolver_refuses_ipv6_loopback():
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(BlockedAddress, match="not public"):
            await resolver.resolve("::1", 80, socket.AF_INET6)
    finally:
        await resolver.close()


async def test_guarded_resolver_passes_public_and_allowed_addresses():
    strict, lax = GuardedResolver(allow_private=False), GuardedResolver(allow_private=True)
    try:
        results = await strict.resolve("93.184.216.34", 443, socket.AF_INET)  # numeric: no DNS, no connection
        assert [r["host"] for r in results] == ["93.184.216.34"]
        results = await lax.resolve("localhost", 80, socket.AF_INET)
        assert "127.0.0.1" in [r["host"] for r in results]
    finally:
        await strict.close()
        await lax.close()


# --- FederationClient bounds, against loopback servers --------------------------------------------


class Misbehaving:
    """A loopback server that redirects forever, or streams a huge body; it counts what it did."""

    HUGE = 50 * 1024 * 1024

    def __init__(self) -> None:
        self.port = free_port()
        self.hits = 0
        self.sent = 0
        self.stream_done = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Misbehaving:
        app = web.Application()
        app.router.add_get("/loop/{n}", self._loop)
        app.router.add_get("/to", self._redirect_to)
        app.router.add_get("/huge/{declared}", self._huge)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _loop(self, request: web.Request) -> web.Response:
        self.hits += 1
        raise web.HTTPFound(f"/loop/{int(request.match_info['n']) + 1}")

    async def _redirect_to(self, request: web.Request) -> web.Response:
        self.hits += 1
        raise web.HTTPFound(request.query["url"])

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        if request.match_info["declared"] == "yes":
            response.content_length = self.HUGE
        try:
            await response.prepare(request)
            chunk = b" " * 65536
            while self.sent < self.HUGE:
                await response.write(chunk)
                self.sent += len(chunk)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client hung up, as it should
        finally:
            self.stream_done.set()
        return response


@pytest.fixture
async def misbehaving():
    server = await Misbehaving().start()
    yield server
    await server.stop()


@pytest.fixture
async def client_factory():
    sessions = []

    def make(*, allow_private: bool = True, max_fetch_bytes: int = 1024 * 1024, fetch_timeout: float = 10.0):
        session = make_session(allow_private=allow_private, user_agent="test", concurrency=2)
        sessions.append(session)
        return FederationClient(
            session,
            clock=Clock(),
            allow_private=allow_private,
            max_fetch_bytes=max_fetch_bytes,
            fetch_timeout=fetch_timeout,
            delivery_timeout=fetch_timeout,
        )

    yield make
    for session in sessions:
        await session.close()


async def test_endless_redirects_stop_after_max_redirects(misbehaving, client_factory):
    client = client_factory()
    with pytest.raises(FetchError, match="redirects") as caught:
        await client.get_json(f"{misbehaving.base}/loop/0", signer=None)
    assert f"more than {MAX_REDIRECTS} redirects" in caught.value.reason
    assert misbehaving.hits == MAX_REDIRECTS + 1


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x"])
async def test_a_redirect_to_another_scheme_is_refused(misbehaving, client_factory, target):
    client = client_factory()
    with pytest.raises(FetchError, match="not an http"):
        await client.get_json(f"{misbehaving.base}/to?url={target}", signer=None)
    assert misbehaving.hits == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]", "hostname"])
async def test_a_guarded_client_never_reaches_a_loopback_server(misbehaving, client_factory, host):
    if host == "hostname":
        host = private_name()[0]
    client = client_factory(allow_private=False)
    with pytest.raises(FetchError, match="not a public address|which is not public|loopback name|not a canonical"):
        await client.get_json(f"http://{host}:{misbehaving.port}/loop/0", signer=None)
    assert misbehaving.hits == 0


@pytest.mark.parametrize("declared", ["yes", "no"], ids=["with-content-length", "chunked"])
async def test_a_50_mb_body_is_refused_without_reading_it_all(misbehaving, client_factory, declared):
    client = client_factory(max_fetch_bytes=256 * 1024)
    with pytest.raises(FetchError, match="byte limit"):
        await client.get_json(f"{misbehaving.base}/huge/{declared}", signer=None)
    await asyncio.wait_for(misbehaving.stream_done.wait(), timeout=30)  # the server noticed the hang-up
    assert misbehaving.hits == 1
    assert misbehaving.sent < Misbehaving.HUGE


async def test_a_server_that_never_answers_is_bounded_by_the_fetch_timeout(client_factory):
    writers = []

    async def silent(reader, writer):
        writers.append(writer)
        await reader.read()  # reads the request, then waits for the client to go away; never answers

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = client_factory(fetch_timeout=1)
    try:
        with pytest.raises(FetchError, match="timed out"):
            await client.get_json(f"http://127.0.0.1:{port}/users/slow", signer=None)
        assert writers, "the request reached the silent server"
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
