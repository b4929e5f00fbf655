"""Peers that misbehave: every fault is bounded and ends in retry or dead with a reason.

Deliveries go from a node started without background workers (each test steps the delivery
worker with ``run_single_cycle()``, ``delivery_timeout_seconds = 1``) to followers whose
inbox is a raw loopback server that misbehaves one way (tests.support.raw_peer): it answers
500 or 410, never answers, hangs up half way through the request, or trickles its answer a
byte at a time. In every case the row keeps its reason, and a healthy follower on another
port gets its copy in the same cycle, and again in the next: no fault leaves a worker stuck.

Fetches: a remote actor signs an inbox POST, and its actor document (where the node fetches
the key) is served by a raw server that hangs up mid-body, trickles (``fetch_timeout_seconds
= 1``), answers HTML, names another host as its id, or lists another key. The POST is refused
with 401 and the reason in the JSON error, nothing is stored, and a healthy actor's POST
right after still gets its 202.

Last, a follower host down for hours, on a frozen clock: several deliveries queued to it are
retried only when due, at growing intervals, one request per attempt while the host stays
paused, and all go out, one at a time, once it is back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from federation.signatures import sign_request
from node.core import deliveries as outbox_store
from node.core.clock import FrozenClock, to_epoch
from tests.support.c2s import eventually, publish, read_inbox
from tests.support.raw_peer import RawPeer
from tests.support.remote_actor import AS, RemoteActor, new_rsa_key, public_pem
from tests.support.stores import query

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
FAST = {"start_workers": False, "delivery_timeout_seconds": 1, "fetch_timeout_seconds": 1}


@pytest.fixture
async def raw_peer():
    """Start misbehaving raw servers: ``peer = await raw_peer(behaviour="silent")``; stopped at teardown."""
    started: list[RawPeer] = []

    async def factory(**options) -> RawPeer:
        peer = await RawPeer(**options).start()
        started.append(peer)
        return peer

    yield factory
    for peer in started:
        await peer.stop()


@dataclass
class FollowerBehind(RemoteActor):
    """A remote actor whose inbox and shared inbox are served by a raw server (another port)."""

    raw_inbox_base: str = ""

    @property
    def inbox(self) -> str:
        return f"{self.raw_inbox_base}/users/{self.name}/inbox"

    @property
    def shared_inbox(self) -> str:
        return f"{self.raw_inbox_base}/inbox"


async def followed_by(node, actor: RemoteActor) -> None:
    """``actor`` follows the node and the node's Accept goes out (one stepped round)."""
    status, body = await actor.post(node.inbox, actor.activity("Follow", node.actor_id))
    assert status == 202, body
    await node.settle()


async def post_note(node, text: str) -> str:
    status, result, _ = await publish(node, {"type": "Note", "content": f"<p>{text}</p>"})
    assert status == 201, result
    return result["id"]


async def row_for(node, activity_id: str, inbox: str):
    rows = [row for row in await outbox_store.deliveries_of(node.db.reader, activity_id) if row["inbox"] == inbox]
    assert len(rows) == 1, [dict(row) for row in rows]
    return rows[0]


def creates_received(actor: RemoteActor, activity_id: str) -> int:
    return sum(1 for item in actor.received if item.activity.get("id") == activity_id)


async def faulty_and_healthy_followers(node, remote_actor, raw_peer, **raw_options):
    """A follower behind a raw server (answering well while it follows) and a healthy one."""
    raw = await raw_peer(behaviour="ok")
    faulty = await FollowerBehind(name="faulty", raw_inbox_base=raw.base).start()
    healthy = await remote_actor("healthy")
    try:
        await followed_by(node, faulty)
        await followed_by(node, healthy)
    except BaseException:
        await faulty.stop()
        raise
    assert [r.path for r in raw.requests] == ["/users/faulty/inbox"], "the Accept reached the raw server"
    assert any(r.activity["type"] == "Accept" for r in healthy.received)
    raw.requests.clear()
    healthy.received.clear()
    for name, value in raw_options.items():
        setattr(raw, name, value)
    return raw, faulty, healthy


# --- delivery faults -------------------------------------------------------------------------------

DELIVERY_FAULTS = [
    # (behaviour, status, final state, what last_error says, host paused)
    pytest.param("status", 500, "queued", "500: ", True, id="answers-500"),
    pytest.param("silent", 202, "queued", "timed out", True, id="never-answers"),
    pytest.param("hang_up_mid_request", 202, "queued", "failed: ", True, id="hangs-up-mid-body"),
    pytest.param("trickle", 202, "queued", "timed out", True, id="trickles-byte-by-byte"),
    pytest.param("status", 410, "dead", "410: ", False, id="answers-410"),
]


@pytest.mark.parametrize("behaviour, status, state, reason, paused", DELIVERY_FAULTS)
async def test_a_faulty_follower_ends_in_retry_or_dead_and_the_healthy_one_still_gets_its_copy(
    make_node, remote_actor, raw_peer, behaviour, status, state, reason, paused
):
    node = await make_node("london", **FAST)
    raw, faulty, healthy = await faulty_and_healthy_followers(
        node, remote_actor, raw_peer, behaviour=behaviour, status=status, body=b'{"error": "not today"}'
    )
    try:
        host = f"127.0.0.1:{raw.port}"
        first = await post_note(node, "Assembly on Thursday")
        assert await node.delivery_worker.run_single_cycle() == 2

        assert len(raw.requests) == 1 and raw.requests[0].method == "POST", "one attempt, no second knock"
        row = await row_for(node, first, faulty.shared_inbox)
        assert row["state"] == state and row["attempts"] == 1, dict(row)
        assert row["last_error"] and reason in row["last_error"], row["last_error"]
        if status in (500, 410) and behaviour == "status":
            assert row["last_status"] == status and "not today" in row["last_error"]
        else:
            assert row["last_status"] is None
            assert row["last_error"].startswith(f"POST {faulty.shared_inbox} failed: ")
        # The healthy follower got its copy in the same cycle.
        assert creates_received(healthy, first) == 1
        healthy_row = await row_for(node, first, healthy.shared_inbox)
        assert (healthy_row["state"], healthy_row["last_status"]) == ("done", 202)

        backoff = {b["host"]: b for b in await outbox_store.hosts_in_backoff(node.db.reader, now=0)}
        if paused:
            assert host in node.delivery_worker.paused_hosts
            assert backoff[host]["failures"] == 1 and reason in backoff[host]["last_error"]
            assert row["next_attempt_at"] > to_epoch(datetime.now(UTC))
        else:
            assert host not in node.delivery_worker.paused_hosts and host not in backoff

        # The next cycle still works: a new post reaches the healthy follower; a paused host is not tried.
        second = await post_note(node, "Minutes are out")
        assert await node.delivery_worker.run_single_cycle() == (1 if paused else 2)
        assert creates_received(healthy, second) == 1
        assert (await row_for(node, second, healthy.shared_inbox))["state"] == "done"
        assert len(raw.requests) == (1 if paused else 2)
        if not paused:
            assert (await row_for(node, second, faulty.shared_inbox))["state"] == "dead"
    finally:
        await faulty.stop()


async def test_a_2xx_whose_body_trickles_is_done_without_waiting_for_the_body(make_node, remote_actor, raw_peer):
    """The answer is the status: a 202 whose body comes a byte at a time does not hold the worker."""
    node = await make_node("london", **FAST)
    _raw, faulty, healthy = await faulty_and_healthy_followers(
        node, remote_actor, raw_peer, behaviour="trickle_body", body=b'{"status": "accepted, slowly"}' * 40
    )
    try:
        note = await post_note(node, "Slow but fine")
        assert await node.delivery_worker.run_single_cycle() == 2
        row = await row_for(node, note, faulty.shared_inbox)
        assert (row["state"], row["last_status"], row["last_error"]) == ("done", 202, None)
        assert creates_received(healthy, note) == 1
        assert not node.delivery_worker.paused_hosts
    finally:
        await faulty.stop()


async def test_a_slow_host_does_not_hold_the_others_in_its_cycle(make_node, remote_actor, raw_peer):
    """While one host's answer is held back, the other hosts of the same cycle are delivered."""
    node = await make_node("london", start_workers=False, delivery_timeout_seconds=60)
    raw, faulty, healthy = await faulty_and_healthy_followers(node, remote_actor, raw_peer, behaviour="gated")
    others = [await remote_actor(f"other{i}") for i in range(3)]
    try:
        for other in others:
            await followed_by(node, other)
            other.received.clear()
        note = await post_note(node, "Everyone at once")
        cycle = asyncio.create_task(node.delivery_worker.run_single_cycle())

        async def all_healthy_have_it():
            return all(creates_received(actor, note) == 1 for actor in (healthy, *others)) or None

        try:
            await eventually(all_healthy_have_it, timeout=20)
            await eventually(lambda: _value(raw.requests), timeout=20)
            assert raw.in_flight == 1 and not cycle.done(), "the slow host is still being waited for"
        finally:
            raw.open_gate()
        assert await asyncio.wait_for(cycle, timeout=30) == 5
        for actor in (faulty, healthy, *others):
            row = await row_for(node, note, actor.shared_inbox)
            assert (row["state"], row["last_status"]) == ("done", 202), actor.name
    finally:
        await faulty.stop()


async def _value(value):
    return value


# --- fetch faults: the signer's actor document misbehaves ---------------------------------------------


@dataclass
class Signer:
    """A would-be remote actor whose whole host is a raw server; it signs with its own key."""

    raw: RawPeer
    name: str = "mallory"

    def __post_init__(self) -> None:
        self.key = new_rsa_key()

    @property
    def id(self) -> str:
        return f"{self.raw.base}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    def document(self, **changes) -> dict:
        return {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "inbox": f"{self.id}/inbox",
            "endpoints": {"sharedInbox": f"{self.raw.base}/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": public_pem(self.key)},
            **changes,
        }

    def note(self) -> dict:
        note = {
            "id": f"{self.raw.base}/notes/1",
            "type": "Note",
            "attributedTo": self.id,
            "content": "<p>hello</p>",
            "to": [PUBLIC],
        }
        return {
            "@context": AS,
            "id": f"{self.raw.base}/activities/1",
            "type": "Create",
            "actor": self.id,
            "object": note,
            "to": [PUBLIC],
        }

    async def post(self, url: str) -> tuple[int, dict]:
        body = json.dumps(self.note()).encode()
        headers = sign_request(
            "POST",
            url,
            body,
            key_id=self.key_id,
            private_key=self.key,
            now=datetime.now(UTC),
            headers={"Content-Type": "application/activity+json"},
        )
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status, await response.json(content_type=None)


def _cut(signer: Signer, raw: RawPeer) -> str:
    raw.behaviour, raw.status = "cut_body", 200
    raw.serve_json(signer.document())
    return "failed: Response payload is not completed"


def _trickle(signer: Signer, raw: RawPeer) -> str:
    raw.behaviour, raw.status = "trickle_body", 200
    raw.serve_json(signer.document())
    return "timed out"


def _html(signer: Signer, raw: RawPeer) -> str:
    raw.behaviour, raw.status = "ok", 200
    raw.body, raw.content_type = b"<!doctype html><html><body><h1>Welcome!</h1></body></html>", "text/html"
    return "answered text/html, not JSON"


def _other_host(signer: Signer, raw: RawPeer) -> str:
    raw.behaviour, raw.status = "ok", 200
    elsewhere = signer.id.replace("127.0.0.1", "localhost")
    raw.serve_json(signer.document(id=elsewhere))
    return f"whose id {elsewhere} is on another host"


def _other_key(signer: Signer, raw: RawPeer) -> str:
    raw.behaviour, raw.status = "ok", 200
    raw.serve_json(
        signer.document(
            publicKey={"id": f"{signer.id}#other-key", "owner": signer.id, "publicKeyPem": public_pem(signer.key)}
        )
    )
    return f"does not list the key {signer.key_id}"


def _wrong_pem(signer: Signer, raw: RawPeer) -> str:
    raw.behaviour, raw.status = "ok", 200
    raw.serve_json(
        signer.document(publicKey={"id": signer.key_id, "owner": signer.id, "publicKeyPem": public_pem(new_rsa_key())})
    )
    return f"signature does not verify with key {signer.key_id}"


FETCH_FAULTS = [
    # (set the fault up, whether the fetched actor is a usable document the node may cache)
    pytest.param(_cut, False, id="closes-mid-body"),
    pytest.param(_trickle, False, id="trickles-byte-by-byte"),
    pytest.param(_html, False, id="html-not-json"),
    pytest.param(_other_host, False, id="id-on-another-host"),
    pytest.param(_other_key, True, id="lists-another-key"),
    pytest.param(_wrong_pem, True, id="key-does-not-verify"),
]


def _query(node, sql: str, params: tuple = ()) -> list[tuple]:
    storage = node.config.storage
    return query(storage.url or storage.database, sql, params)


@pytest.mark.parametrize("fault, usable_document", FETCH_FAULTS)
async def test_a_misbehaving_actor_document_gets_its_post_refused_with_the_reason(
    make_node, remote_actor, raw_peer, fault, usable_document
):
    node = await make_node("london", **FAST)
    raw = await raw_peer()
    signer = Signer(raw)
    reason = fault(signer, raw)

    status, body = await signer.post(node.inbox)
    assert status == 401, body
    assert "signature refused" in body["error"] and signer.key_id in body["error"], body
    assert reason in body["error"], body
    if not usable_document:
        assert "could not get the signing key" in body["error"]
        assert f"GET {signer.id}" in body["error"], body
    assert raw.requests and raw.requests[0].method == "GET" and raw.requests[0].path == f"/users/{signer.name}"
    assert "signature" in raw.requests[0].headers, "the node's fetch is signed"

    # Nothing stored: no inbox item, no key for that key id (and no actor, unless its document was usable).
    assert await read_inbox(node) == []
    assert _query(node, "SELECT COUNT(*) FROM inbox_items") == [(0,)]
    stored_keys = _query(node, "SELECT key_id, public_pem FROM remote_keys WHERE actor_id = ?", (signer.id,))
    assert all(pem != public_pem(signer.key) or key_id != signer.key_id for key_id, pem in stored_keys), stored_keys
    if not usable_document:
        assert _query(node, "SELECT COUNT(*) FROM remote_actors WHERE id = ?", (signer.id,)) == [(0,)]
        assert stored_keys == []
    assert await node.inbox_worker.run_single_cycle() == 0

    # The fetcher is not stuck: a healthy actor's signed POST right after is verified and accepted.
    alice = await remote_actor("alice")
    status, body = await alice.post(node.inbox, alice.activity("Like", f"{node.actor_id}"))
    assert status == 202, body
    assert [item["actor"] for item in await read_inbox(node)] == [alice.id]


# --- a host down for hours -----------------------------------------------------------------------


@dataclass
class CountingActor(RemoteActor):
    """A remote actor that notes how many deliveries to it are in flight at once."""

    in_flight: int = 0
    most_in_flight: int = 0

    async def _inbox(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.02)  # long enough for a second request to overlap, were one sent
            return await super()._inbox(request)
        finally:
            self.in_flight -= 1


async def test_a_host_down_for_hours_is_retried_when_due_and_gets_every_queued_post_once_back(make_node, remote_actor):
    clock = FrozenClock()
    node = await make_node("london", clock=clock, start_workers=False)
    carol = await CountingActor(name="carol").start()
    dave = await remote_actor("dave")
    try:
        await followed_by(node, carol)
        await followed_by(node, dave)
        host = f"127.0.0.1:{carol.port}"
        carol.received.clear()
        dave.received.clear()

        await carol.stop()
        notes = [await post_note(node, f"Notice {n}") for n in range(5)]
        assert await node.delivery_worker.run_single_cycle() == 10
        assert all(creates_received(dave, note) == 1 for note in notes), "the other host is not held back"

        async def carol_rows():
            return [await row_for(node, note, carol.shared_inbox) for note in notes]

        def check_one_request(rows, attempts: int) -> None:
            """All claimed together; only one was actually sent, the others wait for the paused host."""
            assert [row["attempts"] for row in rows] == [attempts] * 5, [dict(r) for r in rows]
            assert all(row["state"] == "queued" for row in rows)
            errors = sorted(row["last_error"] for row in rows)
            tried = [e for e in errors if e != "host paused"]
            assert len(tried) == 1 and tried[0].startswith(f"POST {carol.shared_inbox} failed: "), errors

        check_one_request(await carol_rows(), 1)
        started = to_epoch(clock.now())
        attempt_times = [started]
        failures = 1
        while to_epoch(clock.now()) - started < 3 * 3600:
            rows = await carol_rows()
            [backoff] = [
                b
                for b in await outbox_store.hosts_in_backoff(node.db.reader, now=to_epoch(clock.now()))
                if b["host"] == host
            ]
            assert backoff["failures"] == failures and host in node.delivery_worker.paused_hosts
            due = max([backoff["retry_at"], *(row["next_attempt_at"] for row in rows)])
            now = to_epoch(clock.now())
            assert due > now
            # Many cycles before it is due: nothing is tried, nothing counted, the host stays paused.
            for fraction in (0.25, 0.5, 0.75):
                clock.advance(seconds=(due - now) * fraction - (to_epoch(clock.now()) - now))
                assert await node.delivery_worker.run_single_cycle() == 0
            clock.advance(seconds=due - to_epoch(clock.now()) - 1)
            assert await node.delivery_worker.run_single_cycle() == 0
            assert [row["attempts"] for row in await carol_rows()] == [failures] * 5
            # Once due: one more attempt (one request), and the host's pause grows.
            clock.advance(seconds=2)
            assert await node.delivery_worker.run_single_cycle() == 5
            failures += 1
            check_one_request(await carol_rows(), failures)
            attempt_times.append(to_epoch(clock.now()))
            assert failures < 20, "the outage should span hours within a few attempts"

        gaps = [later - earlier for earlier, later in itertools.pairwise(attempt_times)]
        assert all(later >= earlier for earlier, later in itertools.pairwise(gaps)), gaps
        assert gaps[-1] > 8 * gaps[0], gaps
        assert carol.received == [] and len(dave.received) == 5

        # Back up (same port), and past the pause: every queued post goes out, one request at a time.
        await carol.start()
        rows = await carol_rows()
        [backoff] = await outbox_store.hosts_in_backoff(node.db.reader, now=0)
        clock.advance(
            seconds=max([backoff["retry_at"], *(r["next_attempt_at"] for r in rows)]) - to_epoch(clock.now()) + 1
        )
        assert await node.delivery_worker.run_single_cycle() == 5
        assert [creates_received(carol, note) for note in notes] == [1] * 5
        assert carol.most_in_flight == 1
        assert [(row["state"], row["last_status"], row["last_error"]) for row in await carol_rows()] == [
            ("done", 202, None)
        ] * 5
        assert await outbox_store.hosts_in_backoff(node.db.reader, now=0) == []
        assert host not in node.delivery_worker.paused_hosts
        assert await node.delivery_worker.run_single_cycle() == 0
    finally:
        await carol.stop()
