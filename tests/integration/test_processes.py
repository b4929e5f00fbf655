"""One node as several processes on one PostgreSQL database (issue 20), with real processes and peers.

Two ``chapterhouse serve --workers none`` processes take inbox POSTs and two ``chapterhouse worker``
processes do the work, all on one fresh schema: every signed POST acknowledged is processed once,
a post to 1,000 followers reaches each inbox once, a poll closes once (one closing Update per
follower inbox), and a ``kill -9`` of a random process at a random moment (the seed is printed;
``CHAPTERHOUSE_KILL_SEED`` sets it) loses nothing acknowledged and doubles no ballot, and no
delivery but one the killed process had claimed (a POST sent just before the kill, whose outcome
was never recorded, is sent again: delivery is at least once, as everywhere in the fediverse).

PostgreSQL by nature, so they run in the ``--store postgres`` pass (``postgres_only``), on its
server: the one ``CHAPTERHOUSE_TEST_POSTGRES`` names, or the run's throwaway cluster. The refusals
on SQLite run there too (they make their own SQLite node).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.signatures import SignatureError, read_signature_claim, sign_request, verify_claim
from node.core.urls import INSTANCE_USERNAME
from tests.support.node_processes import NodeProcesses
from tests.support.nodes import ADMIN_TOKEN
from tests.support.ports import free_port
from tests.support.stores import CHOSEN
from tests.support.subprocess_node import REPO_ROOT, _dump_toml

SERVER = CHOSEN.server  # the PostgreSQL pass's server (None in the SQLite pass, which skips these)
AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
needs_postgres = pytest.mark.skipif(not SERVER, reason="several processes need PostgreSQL: pytest --store postgres")
pytestmark = pytest.mark.postgres_only

# Short leases, so that a killed worker's claims come back within the test.
FAST = {
    "federation": {
        "inbox_per_host_per_minute": 1_000_000,
        "inbox_per_host_burst": 1_000_000,
        "inbox_per_actor_per_minute": 1_000_000,
        "inbox_per_actor_burst": 1_000_000,
        "inbox_prepare_timeout_seconds": 3,
        "inbox_lease_seconds": 6,
        "delivery_timeout_seconds": 2,
        "delivery_lease_seconds": 8,
    },
    "polls": {"update_interval_seconds": 1},
}


class Peer:
    """One loopback server: actors with Ed25519 keys at ``/users/<name>``, and their inboxes, which
    count every (inbox path, activity id) they are sent."""

    def __init__(self) -> None:
        self.port = free_port()
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.pem = (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.received: Counter[tuple[str, str]] = Counter()
        self.activities: dict[str, dict] = {}
        self.signer_pem: str | None = None  # when set, every POST must verify with it (the node's key)
        self.bad_signatures: list[str] = []
        self._runner: web.AppRunner | None = None

    def actor(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/users/{name}"

    async def start(self) -> Peer:
        app = web.Application()
        app.router.add_get("/users/{name}", self._document)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _document(self, request: web.Request) -> web.Response:
        actor = self.actor(request.match_info["name"])
        document = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": request.match_info["name"],
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": self.pem},
        }
        return web.json_response(document, content_type="application/activity+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        activity = json.loads(body)
        if self.signer_pem is not None:
            try:
                claim = read_signature_claim("POST", request.raw_path, request.headers, body, now=datetime.now(UTC))
                verify_claim(claim, self.signer_pem)
            except SignatureError as error:
                self.bad_signatures.append(f"{activity['id']}: {error}")
        self.received[(request.path, activity["id"])] += 1
        self.activities[activity["id"]] = activity
        return web.json_response({}, status=202)

    def signed(self, name: str, url: str, body: bytes) -> dict[str, str]:
        return sign_request(
            "POST",
            url,
            body,
            key_id=f"{self.actor(name)}#main-key",
            private_key=self.key,
            now=datetime.now(UTC),
            headers={"Content-Type": "application/activity+json"},
        )


def reply(peer: Peer, name: str, number: int, post_id: str) -> dict:
    actor = peer.actor(name)
    note = {
        "id": f"http://127.0.0.1:{peer.port}/notes/{name}/{number}",
        "type": "Note",
        "attributedTo": actor,
        "inReplyTo": post_id,
        "content": f"<p>reply {number}</p>",
        "to": [PUBLIC],
    }
    return {"@context": AS, "id": f"{note['id']}/activity", "type": "Create", "actor": actor, "object": note}


def vote(peer: Peer, name: str, question_id: str, chapter_id: str, option: str, number: int = 1) -> dict:
    """A ballot as Mastodon sends it: Create(Note) whose ``name`` is the option, to the poll's author."""
    actor = peer.actor(name)
    note_id = f"{actor}#votes/{number}"
    note = {"id": note_id, "type": "Note", "name": option, "attributedTo": actor, "inReplyTo": question_id}
    return {"@context": AS, "id": f"{note_id}/activity", "type": "Create", "actor": actor, "to": [chapter_id],
            "object": {**note, "to": [chapter_id]}}  # fmt: skip


class Sender:
    """Signed inbox POSTs spread over the web processes (each one signed for the node's own host, as a
    balancer in front passes it on), with bounded concurrency; a POST a killed process never
    answered goes to the next process, as a server retries. ``acknowledged``: the ids answered 202."""

    def __init__(self, nodes: NodeProcesses, web_labels: list[str], *, concurrency: int = 24) -> None:
        self.nodes = nodes
        self.webs = [nodes.processes[label] for label in web_labels]
        self.slots = asyncio.Semaphore(concurrency)
        self.turn = itertools.count()
        self.acknowledged: set[str] = set()
        self.refused: Counter[int] = Counter()

    async def send(self, session: aiohttp.ClientSession, peer: Peer, name: str, activity: dict) -> None:
        body = json.dumps(activity).encode()
        path = f"/users/{self.nodes.name}/inbox"
        async with self.slots:
            for _ in range(40):
                web_process = self.webs[next(self.turn) % len(self.webs)]
                headers = peer.signed(name, self.nodes.base_url + path, body)  # Host: the node's
                try:
                    async with session.post(web_process.url + path, data=body, headers=headers) as response:
                        await response.read()
                        if response.status == 202:
                            self.acknowledged.add(activity["id"])
                            return
                        self.refused[response.status] += 1
                except (aiohttp.ClientError, OSError):
                    pass  # a process killed meanwhile: not acknowledged, sent again elsewhere
                await asyncio.sleep(0.1)
        raise AssertionError(f"{activity['id']} was never acknowledged (refusals: {dict(self.refused)})")


async def publish(nodes: NodeProcesses, activity: dict) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{nodes.actor_id}/outbox",
            json=activity,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/activity+json"},
        ) as response:
            body = await response.json(content_type=None)
            assert response.status == 201, body
            return body


async def eventually(check, *, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s (last: {result!r})")
        await asyncio.sleep(interval)


async def add_followers(nodes: NodeProcesses, peers: list[Peer], each: int) -> list[str]:
    """``each`` accepted followers on every peer, written straight into the table; their inbox paths."""
    for peer in peers:
        await nodes.query(
            "INSERT INTO followers (username, follower_id, follow_id, inbox, shared_inbox, state, created_at)"
            " SELECT $1, $2 || g, $2 || g || '#follow', $2 || g || '/inbox', NULL, 'accepted', 0"
            " FROM generate_series(1, $3) AS g",
            nodes.name,
            f"{peer.actor('f')}",
            each,
        )
    return [f"/users/f{number}/inbox" for number in range(1, each + 1)]


async def all_processed(nodes: NodeProcesses, peer: Peer):
    """The states of what ``peer``'s actors sent, once none is queued any more."""
    rows = await nodes.query(
        "SELECT state, COUNT(*) FROM inbox_items WHERE actor_id LIKE $1 GROUP BY state", f"{peer.actor('')}%"
    )
    states = {row[0]: row[1] for row in rows}
    return states if states.get("queued", 0) == 0 else None


def assert_clean_logs(nodes: NodeProcesses) -> None:
    for process in nodes.processes.values():
        text = process.log_path.read_text(errors="replace")
        assert "Traceback" not in text and " ERROR " not in text, f"{process.label} logged errors:\n{text[-3000:]}"


def four_processes(tmp_path, overrides=FAST) -> NodeProcesses:
    nodes = NodeProcesses(tmp_path / "node", SERVER or "", overrides=overrides)
    nodes.web("web-1")
    nodes.web("web-2")
    nodes.worker("worker-a", only="inbox,delivery,polls")
    nodes.worker("worker-b", only="all")
    return nodes


@pytest.fixture(scope="module")
def module_nodes(tmp_path_factory):
    """Four processes of one node, shared by the tests that kill none of them."""
    if not SERVER:
        pytest.skip("several processes need PostgreSQL: pytest --store postgres")
    nodes = four_processes(tmp_path_factory.mktemp("processes"))
    try:
        asyncio.run(nodes.start())
        yield nodes
    finally:
        asyncio.run(nodes.close())


@needs_postgres
async def test_processes_starting_together_on_an_empty_database_share_one_key_and_name_themselves(module_nodes):
    nodes = module_nodes
    keys = await nodes.query("SELECT username, kind, COUNT(*) FROM actor_keys GROUP BY username, kind")
    assert sorted((row[0], row[1], row[2]) for row in keys) == sorted(
        (username, kind, 1) for username in ("london", INSTANCE_USERNAME) for kind in ("rsa", "ed25519")
    )
    documents = []
    async with aiohttp.ClientSession() as session:
        for label in ("web-1", "web-2"):
            url = f"{nodes.processes[label].url}/users/london"
            async with session.get(url, headers={"Accept": "application/activity+json"}) as response:
                documents.append((await response.json(content_type=None))["publicKey"]["publicKeyPem"])
        metrics = {}
        for label, process in nodes.processes.items():
            async with session.get(
                f"{process.url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            ) as response:
                assert response.status == 200
                metrics[label] = await response.text()
    assert documents[0] == documents[1]
    assert 'chapterhouse_process_info{process="worker-a",workers="inbox,delivery,polls"} 1.0' in metrics["worker-a"]
    assert 'workers="inbox,delivery,polls,decisions,tree"} 1.0' in metrics["worker-b"]
    assert 'process="web-' in metrics["web-1"] and 'workers="none"' in metrics["web-2"]


@needs_postgres
async def test_a_block_made_in_one_web_process_holds_in_the_other_at_once(module_nodes):
    nodes = module_nodes
    peer = await Peer().start()
    web_1, web_2 = nodes.processes["web-1"], nodes.processes["web-2"]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    path = f"/users/{nodes.name}/inbox"

    async def post_to(session: aiohttp.ClientSession, process) -> int:
        activity = {"@context": AS, "id": f"{peer.actor('pest')}/likes/{time.monotonic_ns()}", "type": "Like",
                    "actor": peer.actor("pest"), "object": nodes.actor_id}  # fmt: skip
        body = json.dumps(activity).encode()
        headers = peer.signed("pest", nodes.base_url + path, body)
        async with session.post(process.url + path, data=body, headers=headers) as response:
            return response.status

    try:
        async with aiohttp.ClientSession() as session:
            assert await post_to(session, web_2) == 202
            async with session.post(
                f"{web_1.url}/admin/blocks", json={"actor": peer.actor("pest")}, headers=admin
            ) as r:
                assert r.status == 201
            await eventually(lambda: _status_is(post_to(session, web_2), 403), timeout=5, interval=0.05)
            async with session.delete(
                f"{web_2.url}/admin/blocks", params={"actor": peer.actor("pest")}, headers=admin
            ) as r:
                assert r.status == 200
            await eventually(lambda: _status_is(post_to(session, web_1), 202), timeout=5, interval=0.05)
    finally:
        await peer.stop()


async def _status_is(answer, status: int) -> bool:
    return await answer == status


@needs_postgres
@pytest.mark.timeout(180)
async def test_5000_signed_posts_over_two_web_processes_are_each_processed_once(module_nodes):
    nodes = module_nodes
    post = await publish(nodes, {"type": "Note", "content": "<p>Reply here</p>", "to": [PUBLIC]})
    peer = await Peer().start()
    sender = Sender(nodes, ["web-1", "web-2"], concurrency=32)
    names = [f"member{n}" for n in range(4)]
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
            await asyncio.gather(
                *(sender.send(session, peer, names[n % 4], reply(peer, names[n % 4], n, post["object"])) for n in range(5000))
            )  # fmt: skip
        sent = time.monotonic() - started
        states = await eventually(lambda: all_processed(nodes, peer), timeout=90)
        processed = time.monotonic() - started
    finally:
        await peer.stop()
    print(
        f"5,000 POSTs acknowledged in {sent:.1f} s, all processed in {processed:.1f} s, refusals {dict(sender.refused)}"
    )
    assert len(sender.acknowledged) == 5000
    assert states == {"done": 5000}
    twice = await nodes.query(
        "SELECT COUNT(*) FROM inbox_items WHERE attempts != 1 AND actor_id LIKE $1", f"{peer.actor('')}%"
    )
    assert twice[0][0] == 0  # no item was claimed twice
    replies = await nodes.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM interactions WHERE kind = 'reply'")
    assert tuple(replies[0]) == (5000, 5000)
    assert_clean_logs(nodes)


@needs_postgres
@pytest.mark.timeout(180)
async def test_a_post_to_1000_followers_and_a_poll_closing_reach_each_inbox_once(module_nodes):
    nodes = module_nodes
    peers = [await Peer().start() for _ in range(4)]
    async with aiohttp.ClientSession() as session:
        async with session.get(nodes.actor_id, headers={"Accept": "application/activity+json"}) as response:
            pem = (await response.json(content_type=None))["publicKey"]["publicKeyPem"]
    for peer in peers:
        peer.signer_pem = pem  # the key every process signs with: the one stored
    try:
        paths = await add_followers(nodes, peers, 250)
        post = await publish(nodes, {"type": "Note", "content": "<p>To all</p>", "to": [PUBLIC], "cc": [f"{nodes.actor_id}/followers"]})  # fmt: skip
        end = datetime.now(UTC) + timedelta(seconds=4)
        question = await publish(
            nodes,
            {"type": "Question", "content": "<p>Which?</p>", "oneOf": ["Yes", "No"], "endTime": end.isoformat(),
             "to": [PUBLIC], "cc": [f"{nodes.actor_id}/followers"]},
        )  # fmt: skip

        def closing_updates() -> Counter[str]:
            return Counter(
                path
                for peer in peers
                for (path, activity_id), n in peer.received.items()
                for _ in range(n)
                if peer.activities[activity_id]["type"] == "Update"
                and peer.activities[activity_id]["object"]["id"] == question["object"]
                and "closed" in peer.activities[activity_id]["object"]
            )

        async def closed_everywhere():
            return sum(closing_updates().values()) >= 1000

        await eventually(closed_everywhere, timeout=60)
        await asyncio.sleep(2)  # anything sent twice would come now
    finally:
        for peer in peers:
            await peer.stop()
    for peer in peers:
        assert sorted((path, n) for (path, activity_id), n in peer.received.items() if activity_id == post["id"]) == [
            (path, 1) for path in sorted(paths)
        ]
    assert not [bad for peer in peers for bad in peer.bad_signatures]
    updates = closing_updates()
    assert len(updates) == 250 and set(updates.values()) == {4}  # each path on each of 4 peers: one Update
    closed = await nodes.query("SELECT COUNT(*) FROM poll_questions WHERE closed_at IS NOT NULL")
    assert closed[0][0] == 1
    assert_clean_logs(nodes)


@needs_postgres
@pytest.mark.timeout(180)
async def test_kill_9_of_a_random_process_loses_nothing_acknowledged_and_doubles_no_ballot(tmp_path):
    seed = int(os.environ.get("CHAPTERHOUSE_KILL_SEED") or random.SystemRandom().randrange(1 << 32))
    print(f"CHAPTERHOUSE_KILL_SEED={seed}")
    rng = random.Random(seed)
    nodes = four_processes(tmp_path)
    peer = await Peer().start()
    try:
        await nodes.start()
        paths = await add_followers(nodes, [peer], 20)
        voters = [f"voter{n}" for n in range(200)]
        await nodes.query(
            "INSERT INTO members (chapter, actor_id, role, state, is_local, changed_at, joined_at)"
            " SELECT $1, $2 || g, 'member', 'active', 0, 0, 0 FROM generate_series(0, 199) AS g",
            nodes.name,
            peer.actor("voter"),
        )
        await chaos(nodes, peer, rng, voters, paths)
        stopped = {label: process.stop() for label, process in nodes.processes.items()}
        assert stopped == dict.fromkeys(nodes.processes, 0)  # SIGTERM: each ends cleanly
        assert_clean_logs(nodes)
    finally:
        await peer.stop()
        await nodes.close()


async def chaos(nodes: NodeProcesses, peer: Peer, rng: random.Random, voters: list[str], paths: list[str]) -> None:
    end = datetime.now(UTC) + timedelta(seconds=25)
    post = await publish(nodes, {"type": "Note", "content": "<p>Reply here</p>", "to": [PUBLIC]})
    question = await publish(
        nodes,
        {"type": "Question", "content": "<p>Which?</p>", "oneOf": ["Yes", "No"], "endTime": end.isoformat(),
         "to": [PUBLIC], "cc": [f"{nodes.actor_id}/followers"]},
    )  # fmt: skip
    victim = rng.choice(sorted(nodes.processes))
    moment = rng.uniform(0.5, 4.0)
    print(f"kill -9 {victim} after {moment:.2f} s of traffic")
    sender = Sender(nodes, ["web-1", "web-2"])
    activities = [("writer", reply(peer, "writer", n, post["object"])) for n in range(1000)]
    activities += [(v, vote(peer, v, question["object"], nodes.actor_id, rng.choice(["Yes", "No"]))) for v in voters]
    # a second ballot from a quarter of them: refused, wherever it is processed
    activities += [(v, vote(peer, v, question["object"], nodes.actor_id, "Yes", 2)) for v in voters[::4]]
    rng.shuffle(activities)

    async def kill_and_restart() -> None:
        await asyncio.sleep(moment)
        nodes.processes[victim].kill()
        await asyncio.sleep(0.5)
        await nodes.processes[victim].start()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(kill_and_restart(), *(sender.send(session, peer, name, a) for name, a in activities))
    await eventually(lambda: all_processed(nodes, peer), timeout=60)
    await check_after_chaos(nodes, peer, sender, question, end, paths)


async def check_after_chaos(nodes, peer, sender, question, end, paths) -> None:
    stored = {row[0]: row[1] for row in await nodes.query("SELECT activity_id, state FROM inbox_items")}
    lost = [activity_id for activity_id in sender.acknowledged if stored.get(activity_id) != "done"]
    assert not lost, f"acknowledged but not processed: {lost[:5]}"
    replies = await nodes.query("SELECT COUNT(*) FROM interactions WHERE kind = 'reply'")
    assert replies[0][0] == 1000
    ballots = await nodes.query("SELECT COUNT(*), COUNT(DISTINCT voter) FROM poll_ballots WHERE counted = 1")
    assert tuple(ballots[0]) == (200, 200)  # each voter counted once
    wait = (end - datetime.now(UTC)).total_seconds()
    await asyncio.sleep(max(0.0, wait))
    closed = await eventually(
        lambda: nodes.query("SELECT 1 FROM poll_questions WHERE closed_at IS NOT NULL AND dirty = 0"), timeout=30
    )
    assert closed
    await eventually(lambda: deliveries_finished(nodes), timeout=30)
    await asyncio.sleep(1)
    attempts = {
        (row[0], row[1]): row[2] for row in await nodes.query("SELECT inbox, activity_id, attempts FROM deliveries")
    }
    for (path, activity_id), count in peer.received.items():
        again = attempts.get((f"http://127.0.0.1:{peer.port}{path}", activity_id), 0)
        assert count == 1 or again > 1, f"{activity_id} reached {path} {count} times, claimed {again} times"
    closing = [a for a in peer.activities.values() if a["type"] == "Update" and "closed" in a["object"]]
    assert {a["object"]["id"] for a in closing} == {question["object"]}
    assert sum(n for (path, activity_id), n in peer.received.items() if activity_id == closing[-1]["id"]) >= len(paths)


async def deliveries_finished(nodes: NodeProcesses):
    rows = await nodes.query("SELECT COUNT(*) FROM deliveries WHERE state = 'queued'")
    return rows[0][0] == 0


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def test_a_worker_and_serve_with_some_workers_refuse_a_sqlite_node(tmp_path):
    raw = tomllib.loads((REPO_ROOT / "config.example.toml").read_text(encoding="utf-8"))
    raw["storage"]["database"] = str(tmp_path / "london.sqlite3")  # whichever pass this is: a SQLite node
    raw["node"].update(listen=f"127.0.0.1:{free_port()}", base_url="http://127.0.0.1:8080")
    raw["admin"]["token"] = ADMIN_TOKEN
    config = tmp_path / "london.toml"
    config.write_text(_dump_toml(raw), encoding="utf-8")
    worker = run_cli("worker", "--config", str(config))
    assert worker.returncode == 2
    assert "which one process serves: run `chapterhouse serve`" in worker.stderr
    serve = run_cli("serve", "--config", str(config), "--workers", "none")
    assert serve.returncode == 2
    assert "a SQLite file is served by one process" in serve.stderr
    unknown = run_cli("serve", "--config", str(config), "--workers", "inbox,mail")
    assert unknown.returncode == 2 and "no worker named mail" in unknown.stderr
    assert not (tmp_path / "london.sqlite3").exists()  # refused before anything was opened
