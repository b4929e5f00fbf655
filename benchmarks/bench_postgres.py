"""Scaling out on PostgreSQL (issue 20): the inbox, the fan-out and the tally with 1, 2 and 4 processes.

Every figure stands beside the SQLite node's, measured in the same run with the same machinery
(the SQLite node against the benches' own baselines). Each PostgreSQL node gets a schema of its
own (``bench_pg_<pid>_<n>_<what>``, named in its address as ``search_path`` and as the
connections' ``application_name``), dropped after; the server is ``BENCH_POSTGRES``, else
``CHAPTERHOUSE_TEST_POSTGRES``, else 127.0.0.1:5432 (database ``test``, user ``postgres``); when
none answers, one row says so and nothing else runs. A node's processes (:class:`Layout`) are
``chapterhouse serve`` processes, each on a port of its own behind the one ``base_url`` (the
same config but for ``listen``), and ``chapterhouse worker --only ...`` processes
(:func:`benchmarks._support.start_worker`).

1. **Inbox**: bench_inbox's load (signed ``Create(Note)`` s from 1,000 actors whose keys are
   stored, wrk, 64 connections), signed once and replayed to: the client's ceiling (raw 202
   responders, one per web process, the load spread as below), the SQLite node
   (:func:`benchmarks.bench_inbox.run_node`), the bare aiohttp+aiosqlite handler, and a fresh
   PostgreSQL node per layout: N = 1, 2, 4 processes each ``serve`` with all its workers (each
   accepts and processes), then the split: 1 ``serve --workers none`` + 1 ``worker --only
   inbox``, 2 + 2. The requests are dealt out in turn to the web processes, one wrk each with
   its share of the 64 connections, at once (:func:`benchmarks._support.load_spread`: a
   balancer's even spread; the Host header stays the node's). Accepted = 202s per second;
   processed = until every item is ``done`` (polled read-only).
2. **Fan-out**: bench_fanout's post to 10,000 followers on 1,000 sink hosts, from the SQLite
   node, then on PostgreSQL from one ``serve`` (all workers) and from one ``serve --workers
   none`` (it takes the admin's POST and queues the deliveries) with 1, 2, 4 ``worker --only
   delivery``. Each process has ``delivery_concurrency`` 64.
3. **Tally**: bench_decisions' 1,000 signed chapter tallies of 100 ballots each, this time
   reaching a node: an international (the issuer) whose linked child, a region on a documents
   host (:mod:`benchmarks._documents_host`), brings every chapter's signed roll and then its
   signed tally in an ``Add``; the node checks each as it arrives (the proof with the chapter's
   key, the leaves fetched from the chapter's host and recounted, the Merkle root, against the
   roll) and, once all are kept, its decisions worker decides the outcome. Setup
   (:meth:`Issuer.prepare`, untimed): the store seeded with the region's link, every actor and
   branch report (:func:`seed_world`), the proposal issued by C2S, the rolls brought in, the
   close and its final exclusions. Timed, per layout (:meth:`Issuer.tally`): every tally at
   once, until all are kept (tallies/s) and until the outcome is decided (s). The checking is
   the inbox worker's, so it spreads over processes like the inbox (N ``serve``); the outcome
   is one process's work (the ``decisions`` worker under its advisory lock). Beside it,
   bench_decisions' own check + aggregate of the same bodies in one process with no node: what
   the checking costs without HTTP, the inbox and the store.

**Where the time goes** (:class:`Watch`, during each PostgreSQL load): CPU seconds of the node's
processes, of its PostgreSQL backends (found in pg_stat_activity by ``application_name``), of
the load client (this process and its wrk runs) and of the whole machine (every core; the rest is
other programs'), and
pg_stat_activity sampled every 20 ms: connections per sample by state and wait event (a
commit waiting for the disk is ``IO:WALSync``; a connection waiting for the node's next
statement, ``Client:ClientRead``) and the statements the active ones run. Printed per load and
kept in ``DETAILS``. With ``BENCH_PROFILE=folder``, py-spy samples a node process of each load
(the first web process for the inbox, the last worker for the fan-out).

One round each (not the alternating rounds of bench_inbox: the whole module must stay near three
minutes), so a figure moves with the machine's load from minute to minute; the table in the
README says how much. ``--quick``: 1,000 requests from 100 actors, 100 hosts, 100 tallies, only
the 2-process layouts.

Run: ``python -m benchmarks.bench_postgres [--quick]``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from benchmarks import bench_fanout, bench_inbox
from benchmarks._support import (
    LOOPBACK,
    ClientCeiling,
    NodeSetup,
    ProcessGroup,
    Profile,
    Request,
    ServerProcess,
    StoreReader,
    free_port,
    load_spread,
    make_actor_set,
    migrate_database,
    node_setup,
    python_cmd,
    start_node,
    start_worker,
    workdir,
    write_rows,
)
from benchmarks.bench_decisions import check_and_aggregate
from benchmarks.report import Figure, run_standalone

#: The server: ``BENCH_POSTGRES`` (a URL), else the tests' ``CHAPTERHOUSE_TEST_POSTGRES``, else the
#: one this project's machines run on 127.0.0.1:5432 (trust authentication, database ``test``).
SERVER_VARIABLES = ("BENCH_POSTGRES", "CHAPTERHOUSE_TEST_POSTGRES")
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
#: Every schema this module makes is named so (with its process id: a later run drops the schemas
#: of runs that were killed before they could drop their own).
SCHEMA_PREFIX = "bench_pg_"
PROCESS_COUNTS = (1, 2, 4)
CONNECTIONS = bench_inbox.CONNECTIONS
#: pg_stat_activity is read this often during a load (by the bench's own process).
SAMPLE_SECONDS = 0.02
DETAILS: dict = {}

_schemas = itertools.count(1)


# --- the server and a schema per node ----------------------------------------------------------


def server_url() -> str:
    return next((os.environ[name] for name in SERVER_VARIABLES if os.environ.get(name)), DEFAULT_SERVER)


async def unavailable(server: str) -> str | None:
    """Why the server cannot be used (None: it answers); schemas of killed runs are dropped on the way."""
    import asyncpg

    try:
        conn = await asyncpg.connect(server, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        return f"no PostgreSQL server answers at {server} ({error}); set BENCH_POSTGRES to one"
    try:
        names = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", SCHEMA_PREFIX + "%")
        for (name,) in names:
            pid = name.removeprefix(SCHEMA_PREFIX).split("_", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()
    return None


def _alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


async def analyze(made: Schema, *tables: str) -> None:
    """``ANALYZE`` of some of a node's tables, as autovacuum does after enough changes (within a minute)."""
    import asyncpg

    conn = await asyncpg.connect(made.url)
    try:
        for table in tables:
            await conn.execute(f'ANALYZE "{made.name}"."{table}"')
    finally:
        await conn.close()


@dataclass(frozen=True)
class Schema:
    """A node's own schema on the server: its address names it as ``search_path`` and as the
    connections' ``application_name`` (so pg_stat_activity tells this node's connections apart)."""

    server: str
    name: str

    @property
    def url(self) -> str:
        joiner = "&" if urlsplit(self.server).query else "?"
        return f"{self.server}{joiner}{urlencode({'search_path': self.name, 'application_name': self.name})}"


@asynccontextmanager
async def schema(server: str, label: str) -> AsyncIterator[Schema]:
    """A fresh schema (the node creates it when it first opens its store), dropped after."""
    import asyncpg

    made = Schema(server, f"{SCHEMA_PREFIX}{os.getpid()}_{next(_schemas)}_{label}")
    try:
        yield made
    finally:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{made.name}" CASCADE')
        finally:
            await conn.close()


@asynccontextmanager
async def node_store(server: str | None, label: str) -> AsyncIterator[Schema | None]:
    """A schema of its own on ``server`` (see :func:`schema`); None: the node keeps a SQLite file."""
    if server is None:
        yield None
        return
    async with schema(server, label) as made:
        yield made


# --- where the time goes: CPU of the machine, of the node, of PostgreSQL; its wait events -------


def _machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, every core."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / ticks, sum(values) / ticks


def _client_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the wrk runs of a load)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Watch:
    """``async with Watch(schema, node):`` what a load cost, and what PostgreSQL was doing meanwhile.

    Samples pg_stat_activity every :data:`SAMPLE_SECONDS` for the node's connections (its
    ``application_name``): each sample counts every connection's state and wait event (a commit
    waiting on the disk shows as ``IO:WALSync``; a connection waiting for the node to send
    its next statement, ``Client:ClientRead``). At the end: CPU seconds of the node's processes,
    of PostgreSQL (those backends, and the server's own: the WAL writer, the checkpointer, ...), of
    the other side (this process, the clients it ran (wrk), the ``remote`` servers), and of the
    whole machine (every core): what is left is other programs' (a shared machine's other work).
    """

    schema: Schema | None  # None: a SQLite node (nothing to sample)
    node: ProcessGroup
    remote: list[ServerProcess] = field(default_factory=list)  # the other side: sinks, a documents host
    waits: Counter = field(default_factory=Counter)
    statements: Counter = field(default_factory=Counter)  # what the active connections were running
    samples: int = 0
    seconds: float = 0.0
    cpu: dict = field(default_factory=dict)
    _backends: dict[int, float] = field(default_factory=dict)
    _task: asyncio.Task | None = None

    async def __aenter__(self) -> Watch:
        import asyncpg

        if self.schema is not None:
            self._conn = await asyncpg.connect(self.schema.server)
            background = "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'"
            for (pid,) in await self._conn.fetch(background):  # the WAL writer, the checkpointer, ...
                self._backends[pid] = _process_cpu(pid)
            self._task = asyncio.create_task(self._sample())
        self._began = (time.perf_counter(), self.node.cpu_seconds(), _machine_cpu(), _client_cpu(), self._remote())
        return self

    def _remote(self) -> float:
        return sum(process.cpu_seconds() for process in self.remote)

    async def _sample(self) -> None:
        assert self.schema is not None
        while True:
            rows = await self._conn.fetch(
                "SELECT pid, state, wait_event_type, wait_event, left(query, 90) FROM pg_stat_activity"
                " WHERE application_name = $1",
                self.schema.name,
            )
            self.samples += 1
            for pid, state, kind, event, statement in rows:
                self._backends.setdefault(pid, _process_cpu(pid))
                self.waits[f"{state} {kind}:{event}" if kind else f"{state} (on CPU)"] += 1
                if state == "active":
                    self.statements[statement] += 1
            await asyncio.sleep(SAMPLE_SECONDS)

    async def __aexit__(self, *exc) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            await self._conn.close()
        began, node_cpu, (busy, total), client, remote = self._began
        now_busy, now_total = _machine_cpu()
        self.seconds = time.perf_counter() - began
        self.cpu = {
            "node": self.node.cpu_seconds() - node_cpu,
            "postgres": sum(_process_cpu(pid) - before for pid, before in self._backends.items()),
            "client": _client_cpu() - client + self._remote() - remote,
            "machine_busy": now_busy - busy,
            "machine_all": now_total - total,
        }
        self.cpu["other"] = self.cpu["machine_busy"] - self.cpu["node"] - self.cpu["postgres"] - self.cpu["client"]

    def summary(self, top: int = 6) -> dict:
        """CPU seconds and shares of the cores' time; the commonest states, as connections per sample."""
        cores = self.cpu["machine_all"] / self.seconds if self.seconds else float("nan")
        return {
            "seconds": round(self.seconds, 2),
            "cpu_seconds": {k: round(v, 2) for k, v in self.cpu.items()},
            "machine_busy_share": round(self.cpu["machine_busy"] / max(self.cpu["machine_all"], 1e-9), 3),
            "cores": round(cores, 2),
            "waits_per_sample": {k: round(v / max(1, self.samples), 2) for k, v in self.waits.most_common(top)},
            "active_statements": {k: round(v / max(1, self.samples), 2) for k, v in self.statements.most_common(3)},
        }


def describe_watch(summary: dict) -> str:
    cpu = summary["cpu_seconds"]
    waits = ", ".join(f"{k} {v}" for k, v in summary["waits_per_sample"].items())
    return (
        f"{summary['seconds']:.1f} s: CPU node {cpu['node']:.1f} s, PostgreSQL {cpu['postgres']:.1f} s, client"
        f" {cpu['client']:.1f} s, other programs {cpu['other']:.1f} s; machine {100 * summary['machine_busy_share']:.0f} %"
        f" busy; connections per sample: {waits}"
    )


# --- the node's processes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How a node's work is spread over processes: ``web`` × ``serve --workers <serve_workers>``, each
    on a port of its own, and ``workers`` × ``worker --only <only>``."""

    web: int
    serve_workers: str
    workers: int = 0
    only: str = ""

    @property
    def processes(self) -> int:
        return self.web + self.workers

    def describe(self) -> str:
        web = f"{self.web} serve" + ("" if self.serve_workers == "all" else f" --workers {self.serve_workers}")
        return web + (f" + {self.workers} worker --only {self.only}" if self.workers else "")


async def start_layout(setup: NodeSetup, directory, layout: Layout) -> tuple[ProcessGroup, list[str]]:
    """The node's processes (web processes first: the first on the config's port), and their origins."""
    group, origins = ProcessGroup(), []
    try:
        for number in range(layout.web):
            port = setup.port if number == 0 else free_port()
            workers = None if layout.serve_workers == "all" else layout.serve_workers  # as `serve` runs
            group.add(await start_node(setup, directory, port=port, workers=workers, label=f"web-{number}"))
            origins.append(f"http://{LOOPBACK}:{port}")
        for number in range(layout.workers):
            group.add(await start_worker(setup, directory, only=layout.only, label=f"worker-{number}"))
    except BaseException:
        group.stop()
        raise
    return group, origins


# --- the inbox -----------------------------------------------------------------------------------


async def run_inbox(server: str, actors, count: int, requests: list[Request], port: int, layout: Layout) -> dict:
    """A fresh node on its own schema (the actors' keys stored), its processes as ``layout`` says, the
    signed requests spread evenly over its web processes; accepted, processed, and where the time went."""
    async with schema(server, "inbox") as made:
        directory = workdir("pg-inbox")
        setup = node_setup(directory, port=port, database=made.url, **bench_inbox.LIFTED)
        await migrate_database(made.url)
        await bench_inbox.seed_remote_actors(made.url, actors, count)
        before = bench_inbox._last_seq(made.url)
        node, origins = await start_layout(setup, directory, layout)
        try:
            async with Profile(node.processes[0], f"pg-inbox-{layout.processes}"), Watch(made, node) as watch:
                result = await load_spread(requests, origins, connections=CONNECTIONS, time_limit=120)
                bench_inbox._check(result, f"PostgreSQL, {layout.describe()}")
                processed_after = await bench_inbox.wait_all_done(
                    made.url, result.count(202), result.started_at, after_seq=before, time_limit=120
                )
            rss = node.peak_rss_mb()
        finally:
            node.stop()
        scans = await index_scans(made, "inbox_items")  # the processes have ended: their counts are in
    stats = bench_inbox.node_stats(result, processed_after, watch.cpu["node"], rss)
    return {**stats, "layout": layout.describe(), "where": watch.summary(), "index_scans": scans}


async def index_scans(made: Schema, table: str) -> dict[str, int]:
    """How often each index of ``table`` was scanned (pg_stat_user_indexes): the claims of due inbox
    items scan ``inbox_items_due`` once each, so items over its count is the claims' batch size."""
    import asyncpg

    conn = await asyncpg.connect(made.server)
    try:
        rows = await conn.fetch(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE schemaname = $1 AND relname = $2",
            made.name,
            table,
        )
    finally:
        await conn.close()
    return {str(name): int(scans) for name, scans in rows}


# --- the fan-out ---------------------------------------------------------------------------------


async def run_fanout(
    server: str, control: str, ports: list[int], per_host: int, layout: Layout, sinks: ServerProcess
) -> dict:
    """A fresh node on its own schema with ``per_host`` followers on each sink host, its processes as
    ``layout`` says; the admin's Note to the outbox of its first web process, until every host has it."""
    async with schema(server, "fanout") as made:
        directory = workdir("pg-fanout")
        setup = node_setup(directory, database=made.url, delivery_concurrency=bench_fanout.CONCURRENCY)
        await migrate_database(made.url)
        followers = bench_fanout.seed_followers(made.url, ports, per_host)
        node, _ = await start_layout(setup, directory, layout)
        try:
            async with (
                Profile(node.processes[-1], f"pg-fanout-{layout.processes}"),
                Watch(made, node, [sinks]) as watch,
            ):
                result = await bench_fanout.publish_and_wait(setup, control, ports, node)
        finally:
            node.stop()
    return {**result, "followers": followers, "layout": layout.describe(), "where": watch.summary()}


# --- the tally: 1,000 chapters' signed tallies reaching the issuer, checked, the outcome decided ----

TALLY_MEMBERS = 100
#: How far in the future the proposal closes, per chapter: time for the rolls to arrive (a tally
#: that arrives before the close is refused; the tallies are sent once every roll is kept).
ROLL_WINDOW_SECONDS = 0.006


@dataclass
class World:
    """A region and its chapters, all on one documents host (:mod:`benchmarks._documents_host`):
    the region (an RSA key: HTTP signatures) brings the chapters' documents, each signed with the
    chapter's own Ed25519 key, to the issuer, its linked parent."""

    origin: str
    chapters: int
    region_pem: str
    keys: list = field(default_factory=list)

    @property
    def region(self) -> str:
        return f"{self.origin}/users/region"

    def chapter(self, number: int) -> str:
        return f"{self.origin}/users/c{number}"

    def documents(self) -> list[dict]:
        """The region's actor, then every chapter's (its Multikey in ``assertionMethod``)."""
        from benchmarks._support import public_pem_of
        from federation.multikey import multikey_document

        def group(actor: str, level: str, **more) -> dict:
            return {
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": actor,
                "type": "Group",
                "preferredUsername": actor.rsplit("/", 1)[1],
                "inbox": f"{actor}/inbox",
                "outbox": f"{actor}/outbox",
                "endpoints": {"sharedInbox": f"{self.origin}/inbox"},
                "level": level,
                **more,
            }

        key = {"id": f"{self.region}#main-key", "owner": self.region, "publicKeyPem": public_pem_of(self.region_pem)}
        region = group(self.region, "region", publicKey=key)
        chapters = [
            group(
                self.chapter(n),
                "chapter",
                parent=self.region,
                assertionMethod=[
                    multikey_document(
                        key_id=f"{self.chapter(n)}#ed25519-key", controller=self.chapter(n), public_key=k.public_key()
                    )
                ],
            )
            for n, k in enumerate(self.keys)
        ]
        return [region, *chapters]


def make_world(root, origin: str, chapters: int) -> World:
    """The region and chapters, their actor documents written where the documents host serves them."""
    import json

    from cryptography.hazmat.primitives.asymmetric import ed25519

    from benchmarks._support import remote_private_pems

    world = World(origin, chapters, remote_private_pems(1)[0])
    world.keys = [ed25519.Ed25519PrivateKey.generate() for _ in range(chapters)]
    (root / "users").mkdir(parents=True, exist_ok=True)
    for document in world.documents():
        (root / "users" / f"{document['preferredUsername']}.json").write_text(json.dumps(document))
    return world


async def seed_world(address, world: World, issuer: str) -> None:
    """What the issuer knows before the proposal, written with the node's own store functions: the
    region linked as its child, the region's and every chapter's actor (keys cached), and their
    branch reports (so the electorate frozen at the proposal holds every chapter, via the region)."""
    from benchmarks._support import public_pem_of, store_at
    from federation.actors import RemoteActor, RemoteKey
    from node.branches import link_store, reports
    from node.branches.documents import branch_report
    from node.core.remote_actors import RemoteActorStore

    db, now = store_at(address), time.time()
    await db.open()
    try:
        async with db.transaction() as conn:
            actors = RemoteActorStore(db)
            for document in world.documents():
                shared = document["endpoints"]["sharedInbox"]
                await actors.upsert_actor(conn, RemoteActor(document["id"], document["inbox"], shared, document), now)
            key = RemoteKey(f"{world.region}#main-key", world.region, public_pem_of(world.region_pem))
            await actors.upsert_key(conn, key, now)
            await link_store.request(
                conn,
                peer_id=world.region,
                role="child",
                join_id=f"{world.region}/join",
                level="region",
                inbox=f"{world.region}/inbox",
                shared_inbox=f"{world.origin}/inbox",
                collection=f"{world.region}/children",
                now=now,
            )
            await link_store.set_state(conn, world.region, "child", "linked", now)
            branches = [(world.region, issuer, "region", TALLY_MEMBERS * world.chapters)]
            branches += [(world.chapter(n), world.region, "chapter", TALLY_MEMBERS) for n in range(world.chapters)]
            for origin, parent, level, members in branches:
                facts = {"level": level, "name": origin, "memberCount": members, "parent": parent}
                report = branch_report(actor=origin, facts=facts, published=_iso(now))
                await reports.upsert(
                    conn,
                    origin_id=origin,
                    via_child=world.region,
                    parent_id=parent,
                    published=now,
                    report=report,
                    now=now,
                )
    finally:
        await db.close()


def _iso(moment: float) -> str:
    from node.core.clock import iso

    return iso(datetime.fromtimestamp(moment, UTC))


def roll_of(world: World, number: int, proposal: str) -> dict:
    """Chapter ``number``'s signed roll: ``TALLY_MEMBERS`` members no one else has (so nothing is excluded)."""
    import hashlib

    from federation.proofs import add_proof
    from node.decisions import documents as decision_documents
    from node.decisions import rolls

    chapter, now = world.chapter(number), time.time()
    entries = sorted(
        (hashlib.sha256(f"{chapter} {proposal} {m}".encode()).hexdigest(), 20_000) for m in range(TALLY_MEMBERS)
    )
    document = decision_documents.decision_document(
        "DecisionRoll",
        actor=chapter,
        proposal=proposal,
        published=_iso(now),
        rollSize=len(entries),
        commitments=[list(e) for e in entries],
        rollHash=rolls.roll_hash(entries),
    )
    return add_proof(
        document,
        private_key=world.keys[number],
        verification_method=f"{chapter}#ed25519-key",
        created=datetime.fromtimestamp(now, UTC),
    )


def tally_of(world: World, number: int, proposal: str, root) -> tuple[dict, tuple]:
    """Chapter ``number``'s signed tally (bench_decisions' ``chapter_bodies``, its leaves written where
    the documents host serves them at ``<chapter>/leaves``), and its bodies for the in-process check."""
    import json

    from benchmarks.bench_decisions import chapter_bodies

    chapter, now = world.chapter(number), datetime.now(UTC)
    tally, leaves, public = chapter_bodies(
        number,
        TALLY_MEMBERS,
        now,
        proposal=proposal,
        chapter=chapter,
        key=world.keys[number],
        published=_iso(now.timestamp()),
    )
    folder = root / "users" / f"c{number}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leaves.json").write_bytes(leaves)
    return json.loads(tally), (tally, leaves, public)


def adds(world: World, documents: list[dict], issuer: str, inbox: str) -> list[Request]:
    """Each document in the region's signed ``Add`` to the issuer's inbox."""
    import orjson

    from benchmarks._support import sign_all
    from node.core import vocabulary

    bodies = [
        orjson.dumps(
            {
                "@context": vocabulary.signed_context(),
                "id": f"{world.origin}/activities/{uuid.uuid4().hex}",
                "type": "Add",
                "actor": world.region,
                "to": [issuer],
                "object": document,
                "target": document["proposal"],
            }
        )
        for document in documents
    ]
    headers = sign_all([world.region_pem], [(inbox, 0, f"{world.region}#main-key", body) for body in bodies])
    return [Request(inbox, body, h) for body, h in zip(bodies, headers, strict=True)]


async def issue(setup: NodeSetup, chapters: int) -> tuple[str, float]:
    """The issuer's admin issues a proposal (by C2S) closing in time for ``chapters`` rolls: its id, its close."""
    import math

    import aiohttp

    from benchmarks.bench_decisions import OPTIONS
    from benchmarks.bench_tree import _post

    end = math.ceil(time.time() + 1 + ROLL_WINDOW_SECONDS * chapters)
    body = {
        "type": "Question",
        "content": "<p>Adopt the charter?</p>",
        "oneOf": list(OPTIONS),
        "endTime": _iso(end),
        "decision": {},
    }
    async with aiohttp.ClientSession() as session:
        answer = await _post(session, setup, body, setup.actor_id)
    return answer["object"], end


async def until(reader, sql: str, params: tuple, ready, what: str, time_limit: float = 120.0):
    """Poll ``sql`` (read-only) until ``ready(rows)`` says True (or a reason to stop, a string); the rows."""
    deadline = time.monotonic() + time_limit
    while True:
        rows = await reader.rows(sql, params)
        verdict = ready(rows)
        if isinstance(verdict, str):
            raise RuntimeError(f"{what}: {verdict}")
        if verdict:
            return rows
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not within {time_limit:.0f} s (last: {rows})")
        await asyncio.sleep(0.02)


def _all_reported(chapters: int):
    def ready(rows) -> bool | str:
        found = {status: n for status, n, _ in rows}
        refused = [reason for status, _, reason in rows if status != "reported"]
        return f"tallies refused: {refused[:3]}" if refused else found.get("reported", 0) >= chapters

    return ready


def issuer_setup(directory, made: Schema | None) -> NodeSetup:
    """The international's config (the inbox limits lifted: every document comes from the region's host)."""
    setup = node_setup(directory, database=made.url if made else None, **bench_inbox.LIFTED)
    setup.config.write_text(setup.config.read_text().replace("[node]\n", '[node]\nlevel = "international"\n', 1))
    return setup


class Phases:
    """``phases("name")``: seconds since the previous mark, kept by name (where a run's setup goes)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 2)
        self._last = now


REPORTED_SQL = "SELECT status, COUNT(*), MIN(reason) FROM decision_tallies WHERE proposal_id = ? GROUP BY status"


@dataclass
class Issuer:
    """The international that issues the proposal, on one store, ready for its tallies.

    :meth:`prepare` (untimed): the store seeded with ``world`` (:func:`seed_world`), one ``serve``
    process started, the proposal issued, every chapter's roll brought in and kept, the process
    stopped; every chapter's tally made and its leaves served. :meth:`tally`, once per layout:
    its processes started and, once the proposal has closed, every tally at once (a new ``Add``
    each time, spread over the web processes): accepted, all checked and kept, the outcome
    decided. Between two layouts the stopped node forgets the tallies and reopens the proposal
    (:meth:`reopen`), so every layout checks the same tallies against the same rolls.
    """

    made: Schema | None
    world: World
    root: object
    remote: list[ServerProcess]  # the documents host: its CPU is counted with the load's
    setup: NodeSetup | None = None
    proposal: str = ""
    end: float = 0.0
    bodies: list = field(default_factory=list)
    tallies: list[dict] = field(default_factory=list)
    phases: Phases = field(default_factory=Phases)
    used: bool = False

    async def prepare(self) -> None:
        directory = workdir("tally-node")
        self.setup = setup = issuer_setup(directory, self.made)
        await migrate_database(setup.database)
        await seed_world(setup.database, self.world, setup.actor_id)
        self.phases("seeded")
        # On PostgreSQL the rolls come in with no decisions worker running (its exclusions query
        # has no plan worth the name before the table is analysed: README), then ANALYZE.
        node, origins = await start_layout(setup, directory, Layout(1, "inbox" if self.made else "all"))
        try:
            await self._bring_rolls(origins)
        finally:
            node.stop()
        if self.made is not None:
            await analyze(self.made, "decision_roll_entries", "decision_rolls")
        node, _ = await start_layout(setup, directory, Layout(1, "all"))
        try:
            async with StoreReader(setup.database) as reader:
                final = "SELECT exclusions_due FROM decision_proposals WHERE id = ?"  # 2: final (after the close)
                await until(reader, final, (self.proposal,), lambda rows: rows[0][0] == 2, "the final exclusions")
            self.phases("closed, exclusions final")
        finally:
            node.stop()

    async def _bring_rolls(self, origins: list[str]) -> None:
        """The proposal issued; every chapter's roll brought in and kept, every tally made."""
        assert self.setup is not None
        self.proposal, self.end = await issue(self.setup, self.world.chapters)
        chapters = range(self.world.chapters)
        rolls = [roll_of(self.world, n, self.proposal) for n in chapters]
        made = [tally_of(self.world, n, self.proposal, self.root) for n in chapters]
        self.tallies, self.bodies = [tally for tally, _ in made], [bodies for _, bodies in made]
        self.phases("documents made")
        bench_inbox._check(await load_spread(self._adds(rolls), origins, connections=CONNECTIONS), "rolls")
        async with StoreReader(self.setup.database) as reader:
            count = "SELECT COUNT(*) FROM decision_rolls WHERE proposal_id = ?"
            await until(reader, count, (self.proposal,), lambda rows: rows[0][0] >= len(chapters), "every roll")
        self.phases("rolls kept")

    def _adds(self, documents) -> list[Request]:
        assert self.setup is not None
        return adds(self.world, list(documents), self.setup.actor_id, f"{self.setup.base_url}/inbox")

    def reopen(self) -> None:
        """The stopped node forgets the tallies it kept and reopens the proposal (as before they came)."""
        assert self.setup is not None
        address = self.setup.database
        write_rows(address, "DELETE FROM decision_tallies WHERE proposal_id = ?", [(self.proposal,)])
        write_rows(
            address, "UPDATE decision_proposals SET state = 'open', outcome = NULL WHERE id = ?", [(self.proposal,)]
        )

    async def tally(self, layout: Layout) -> dict:
        assert self.setup is not None
        if self.used:
            self.reopen()
        self.used = True
        tallies = self._adds(self.tallies)
        node, origins = await start_layout(self.setup, workdir("tally-node"), layout)
        try:
            async with (
                StoreReader(self.setup.database) as reader,
                Profile(node.processes[0], f"tally-{'pg' if self.made else 'sqlite'}-{layout.processes}"),
                Watch(self.made, node, self.remote) as watch,
            ):
                result = await load_spread(tallies, origins, connections=CONNECTIONS)
                bench_inbox._check(result, "tallies")
                reported = _all_reported(len(tallies))
                await until(reader, REPORTED_SQL, (self.proposal,), reported, "every tally kept")
                checked = time.monotonic() - result.started_at
                state = "SELECT state FROM decision_proposals WHERE id = ?"
                await until(reader, state, (self.proposal,), lambda rows: rows[0][0] == "decided", "the outcome")
                decided = time.monotonic() - result.started_at
        finally:
            node.stop()
        return {
            "layout": layout.describe(),
            "accepted": result.rate(202),
            "checked_per_second": len(tallies) / checked,
            "checked_seconds": checked,
            "decided_seconds": decided,
            "where": watch.summary(),
        }


@asynccontextmanager
async def issuer(server: str | None, world: World, root, host: ServerProcess) -> AsyncIterator[Issuer]:
    """An :class:`Issuer` on its own schema of ``server`` (None: a SQLite file), prepared."""
    async with node_store(server, "tally") as made:
        ready = Issuer(made, world, root, [host])
        await ready.prepare()
        yield ready


def in_process(ready: Issuer) -> float:
    """Seconds bench_decisions' check and aggregation takes over the same tallies, in this process."""
    began = time.perf_counter()
    check_and_aggregate(list(ready.bodies), ready.proposal)
    return time.perf_counter() - began


# --- the figures ---------------------------------------------------------------------------------

SAME_RUN = "the SQLite node, same run"


def _inbox_layouts(quick: bool) -> list[Layout]:
    """N processes each `serve` (all workers); in a full run also the split: N/2 web + N/2 inbox workers."""
    counts = (2,) if quick else PROCESS_COUNTS
    layouts = [Layout(n, "all") for n in counts]
    return layouts if quick else [*layouts, Layout(1, "none", 1, "inbox"), Layout(2, "none", 2, "inbox")]


def _figure(metric: str, value: float, unit: str, baseline: str, baseline_value: float, **more) -> Figure:
    return Figure("postgres", metric, value, unit, baseline, baseline_value, **more)


def _processes(layout: Layout) -> str:
    return f"{layout.processes} process{'es' if layout.processes > 1 else ''} ({layout.describe()})"


async def measure_inbox(server: str, quick: bool) -> list[Figure]:
    n, count = (1_000, 100) if quick else (10_000, 1_000)
    actors = make_actor_set(count, f"http://{LOOPBACK}:{free_port()}")
    port, run = free_port(), uuid.uuid4().hex[:8]
    url = f"http://{LOOPBACK}:{port}/inbox"
    requests = bench_inbox.signed_requests(actors, count, url, [f"{run}-{j}" for j in range(n)])
    layouts = _inbox_layouts(quick)
    ceilings = {}
    for web in sorted({1, *(layout.web for layout in layouts)}):
        ceilings[web] = (await ClientCeiling().measure(requests, connections=CONNECTIONS, responders=web)).rate(202)
    sqlite = (await bench_inbox.run_node(actors, count, n, run, requests=requests, port=port))[0]
    baseline = await bench_inbox.run_baseline(requests)
    print(
        f"  inbox: SQLite node {sqlite['accepted']:,.0f} accepted/s, {sqlite['processed']:,.0f} processed/s;"
        f" bare handler {baseline['accepted']:,.0f}/s; client ceilings {ceilings}",
        flush=True,
    )
    results = []
    for layout in layouts:
        got = await run_inbox(server, actors, count, requests, port, layout)
        results.append(got)
        claims = got["index_scans"].get("inbox_items_due", 0)
        print(
            f"  inbox on PostgreSQL, {got['layout']}: {got['accepted']:,.0f} accepted/s, {got['processed']:,.0f}"
            f" processed/s, p99 {got['p99']:.0f} ms, {claims:,} claims; {describe_watch(got['where'])}",
            flush=True,
        )
    DETAILS["inbox"] = {
        "requests": n,
        "sqlite": sqlite,
        "baseline": baseline,
        "ceilings": ceilings,
        "postgres": results,
    }
    label = f"N={n:,}, {sqlite['client']}, {CONNECTIONS} connections"
    figures = [
        _figure(
            f"inbox {what}, SQLite, 1 process" + (f" ({label})" if what == "accepted" else ""),
            sqlite[what],
            "req/s",
            bench_inbox.BASELINE + ("" if what == "accepted" else " (accepted)"),
            baseline["accepted"],
            ceiling=ceilings[1],
        )
        for what in ("accepted", "processed")
    ]
    for layout, got in zip(layouts, results, strict=True):
        for what in ("accepted", "processed"):
            metric = f"inbox {what}, PostgreSQL, {_processes(layout)}"
            figures.append(_figure(metric, got[what], "req/s", SAME_RUN, sqlite[what], ceiling=ceilings[layout.web]))
    return figures


def _fanout_layouts(quick: bool) -> list[Layout]:
    """One `serve` (all workers, as the SQLite node), then one web process and N delivery workers."""
    if quick:
        return [Layout(1, "none", 2, "delivery")]
    return [Layout(1, "all"), *(Layout(1, "none", n, "delivery") for n in PROCESS_COUNTS)]


async def measure_fanout(server: str, quick: bool) -> list[Figure]:
    hosts, per_host = (100, 10) if quick else (1_000, 10)
    sinks, control, ports = await bench_fanout.start_sinks(hosts, workdir("pg-fanout-sinks"))
    try:
        sqlite = await bench_fanout.run_node(control, ports, per_host)
        baseline = await bench_fanout.run_baseline(control, ports, FANOUT_BASELINE_BODY)
        results = []
        for layout in _fanout_layouts(quick):
            got = await run_fanout(server, control, ports, per_host, layout, sinks)
            results.append(got)
            print(
                f"  fan-out on PostgreSQL, {got['layout']}: {hosts / got['seconds']:,.0f} deliveries/s;"
                f" {describe_watch(got['where'])}",
                flush=True,
            )
    finally:
        sinks.stop()
    rate, base = hosts / sqlite["seconds"], hosts / baseline["seconds"]
    print(f"  fan-out: SQLite node {rate:,.0f} deliveries/s; baseline {base:,.0f}/s", flush=True)
    DETAILS["fanout"] = {"hosts": hosts, "sqlite": sqlite, "baseline": baseline, "postgres": results}
    label = f"{hosts:,} RSA-2048 signs + {hosts:,} unsigned POSTs ({bench_fanout.CONCURRENCY} conc.)"
    figures = [_figure(f"fan-out to {hosts:,} hosts, SQLite, 1 process", rate, "deliveries/s", label, base)]
    for layout, got in zip(_fanout_layouts(quick), results, strict=True):
        metric = f"fan-out, PostgreSQL, {_processes(layout)}"
        figures.append(_figure(metric, hosts / got["seconds"], "deliveries/s", SAME_RUN, rate))
    return figures


FANOUT_BASELINE_BODY = (
    b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"http://127.0.0.1/u",'
    b'"object":{"type":"Note","content":"<p>The chapter meets on Thursday at seven.</p>"}}'
)


async def measure_tallies(server: str, quick: bool) -> list[Figure]:
    chapters = 100 if quick else 1_000
    root, port = workdir("tally-world"), free_port()
    host = ServerProcess(
        "documents host",
        python_cmd("-m", "benchmarks._documents_host", "--port", str(port), "--root", str(root)),
        log=root / "host.log",
    )
    try:
        await host.wait_ready(f"http://{LOOPBACK}:{port}/counts")
        world = make_world(root, f"http://{LOOPBACK}:{port}", chapters)
        async with issuer(None, world, root, host) as ready:
            sqlite = {**await ready.tally(Layout(1, "all")), "setup": ready.phases.seconds}
            floor = in_process(ready)
        print(
            f"  tallies: SQLite node {sqlite['checked_per_second']:,.0f} checked/s, decided after"
            f" {sqlite['decided_seconds']:.1f} s; in one process, no node: {floor:.2f} s",
            flush=True,
        )
        layouts = [Layout(n, "all") for n in ((2,) if quick else PROCESS_COUNTS)]
        results = []
        async with issuer(server, world, root, host) as ready:
            for layout in layouts:
                got = await ready.tally(layout)
                results.append(got)
                print(
                    f"  tallies on PostgreSQL, {got['layout']}: {got['checked_per_second']:,.0f} checked/s, decided"
                    f" after {got['decided_seconds']:.1f} s; {describe_watch(got['where'])}",
                    flush=True,
                )
            setup = ready.phases.seconds
    finally:
        host.stop()
    DETAILS["tallies"] = {"chapters": chapters, "sqlite": sqlite, "in_process_seconds": floor, "postgres": results}
    DETAILS["tallies"]["postgres_setup"] = setup
    return _tally_figures(chapters, sqlite, floor, layouts, results)


def _tally_figures(chapters: int, sqlite: dict, floor: float, layouts: list[Layout], results: list[dict]):
    ballots = f"{chapters:,} chapter tallies ({chapters * TALLY_MEMBERS:,} ballots)"
    alone = "bench_decisions' check + aggregate, one process, no node"
    figures = [
        _figure(
            f"tally: {ballots} checked, SQLite", sqlite["checked_per_second"], "tallies/s", alone, chapters / floor
        ),
        _figure("tally: until decided, SQLite", sqlite["decided_seconds"], "s", alone, floor, higher_is_better=False),
    ]
    for layout, got in zip(layouts, results, strict=True):
        rate, seconds = got["checked_per_second"], got["decided_seconds"]
        figures.append(
            _figure(
                f"tally: checked, PostgreSQL, {_processes(layout)}",
                rate,
                "tallies/s",
                SAME_RUN,
                sqlite["checked_per_second"],
            )
        )
        figures.append(
            _figure(
                f"tally: until decided, PostgreSQL, {_processes(layout)}",
                seconds,
                "s",
                SAME_RUN,
                sqlite["decided_seconds"],
                higher_is_better=False,
            )
        )
    return figures


async def measure(quick: bool) -> list[Figure]:
    server = server_url()
    reason = await unavailable(server)
    if reason is not None:
        print(f"  PostgreSQL unavailable: {reason}", flush=True)
        DETAILS["unavailable"] = reason
        return [_figure("PostgreSQL unavailable (see README)", math.nan, "req/s", "-", math.nan)]
    figures = await measure_inbox(server, quick)
    figures += await measure_fanout(server, quick)
    return figures + await measure_tallies(server, quick)


if __name__ == "__main__":
    run_standalone(measure)
