"""Shared machinery for the load benchmarks: processes, the load client, keys, signing.

Every server a benchmark talks to runs in its own process on 127.0.0.1 (so the load
generator and the server never share an event loop or a GIL), is started and stopped here
by its own process id, and every load is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
KEY_CACHE = RESULTS / "cache"
LOOPBACK = "127.0.0.1"
AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"chapterhouse-bench-{prefix}-"))


# --- processes -----------------------------------------------------------------------------


class ServerProcess:
    """A server in its own process: started with a command, ready when a URL answers, stopped by pid."""

    def __init__(self, name: str, cmd: list[str], *, log: Path, env: dict | None = None, cwd: Path = ROOT) -> None:
        self.name = name
        self.log = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(cwd),
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    async def wait_ready(self, url: str, *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    async with session.get(url) as response:
                        if response.status < 500:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready at {url} after {timeout:.0f}s:\n{self.tail()}")

    def peak_rss_mb(self) -> float:
        """VmHWM of the server process: its peak resident memory so far, in MiB."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads: SQLite's too)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, *args]


# --- the load client -------------------------------------------------------------------------


@dataclass
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class LoadResult:
    sent: int
    elapsed: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int | str, int] = field(default_factory=dict)
    started_at: float = 0.0  # time.monotonic() when the first request went out

    def count(self, *ok: int) -> int:
        return sum(n for status, n in self.statuses.items() if status in ok)

    def rate(self, *ok: int) -> float:
        return self.count(*ok) / self.elapsed if self.elapsed else float("nan")

    percentiles_ms: dict[float, float] = field(default_factory=dict)  # from wrk, which keeps no list
    client: str = "aiohttp"
    #: wrk's: wall-clock time (time.time()) its first thread started and its last answer came
    span: tuple[float, float] | None = None

    def percentile_ms(self, p: float) -> float:
        if p in self.percentiles_ms:
            return self.percentiles_ms[p]
        return percentile(self.latencies, p) * 1000


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def post_all(requests: list[Request], *, connections: int = 64, time_limit: float = 120.0) -> LoadResult:
    """POST every request with ``connections`` keep-alive connections; stop at ``time_limit`` seconds.

    One aiohttp client, ``connections`` workers pulling the next request from a shared index:
    at most ``connections`` requests in flight. Latency is per request, send to full response.
    """
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    result = LoadResult(sent=0, elapsed=0.0)
    position = 0
    deadline = time.monotonic() + time_limit

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal position
        while position < len(requests) and time.monotonic() < deadline:
            request = requests[position]
            position += 1
            began = time.perf_counter()
            try:
                async with session.post(request.url, data=request.body, headers=request.headers) as response:
                    await response.read()
                    status: int | str = response.status
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                status = type(error).__name__
            result.latencies.append(time.perf_counter() - began)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.sent += 1

    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=("User-Agent",)
    ) as session:
        result.started_at = time.monotonic()
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        result.elapsed = time.perf_counter() - began
    return result


# --- the load client in C: wrk replaying pre-signed requests -----------------------------------

WRK_SCRIPT = ROOT / "benchmarks" / "wrk" / "replay.lua"
WRK_THREADS = 2


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def raw_http(request: Request) -> bytes:
    """The whole HTTP/1.1 request as it goes on the wire: request line, headers (Host among the
    signed ones), Content-Length, body."""
    parts = urlsplit(request.url)
    headers = {"Host": parts.netloc, **request.headers, "Content-Length": str(len(request.body))}
    head = f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n").encode() + request.body


async def wrk_post_all(
    requests: list[Request], *, connections: int = 64, time_limit: float = 120.0, target: str | None = None
) -> LoadResult:
    """POST every request exactly once with wrk (``benchmarks/wrk/replay.lua``), ``connections``
    keep-alive connections on ``WRK_THREADS`` threads; stops when each has its answer, or at
    ``time_limit``. All requests must go to one origin: the requests' own, or ``target`` (an
    origin that then gets them as they are, their Host header still the requests' own, as
    behind a balancer). Latency percentiles are wrk's."""
    if not requests:
        return LoadResult(sent=0, elapsed=0.0, client="wrk")
    origin = urlsplit(target or requests[0].url)
    with tempfile.NamedTemporaryFile("wb", prefix="chapterhouse-wrk-", suffix=".bin", delete=False) as file:
        for request in requests:
            raw = raw_http(request)
            file.write(f"{len(raw)}\n".encode() + raw)
        path = file.name
    try:
        command = ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{math.ceil(time_limit)}s"]
        command += ["--timeout", "30s", "-s", str(WRK_SCRIPT), f"{origin.scheme}://{origin.netloc}/"]
        command += ["--", path, str(WRK_THREADS)]
        started_at = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        lines, spans = await asyncio.wait_for(_read_wrk(process), time_limit + 30)
    finally:
        os.unlink(path)
    line = next((x for x in lines if x.startswith("WRK-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result (exit {process.returncode}):\n" + "\n".join(lines))
    data = json.loads(line.removeprefix("WRK-RESULT "))
    # from the first thread's start to the last thread's last answer (wrk's own duration is its -d)
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans) if spans else time_limit
    statuses: dict[int | str, int] = {int(code): n for code, n in data["statuses"].items()}
    missing = len(requests) - sum(statuses.values())
    if missing:
        statuses["no answer"] = missing
    return LoadResult(
        sent=len(requests),
        elapsed=elapsed,
        statuses=statuses,
        started_at=started_at,
        percentiles_ms={50: data["p50_us"] / 1000, 90: data["p90_us"] / 1000, 99: data["p99_us"] / 1000},
        client="wrk",
        span=(min(start for start, _ in spans), max(end for _, end in spans)) if spans else None,
    )


async def _read_wrk(process: asyncio.subprocess.Process) -> tuple[list[str], list[tuple[float, float]]]:
    """wrk's output lines, interrupting it (it then reports) once every thread said it is done."""
    assert process.stdout is not None
    lines: list[str] = []
    spans: list[tuple[float, float]] = []
    while True:
        raw = await process.stdout.readline()
        if not raw:
            break
        line = raw.decode(errors="replace").rstrip("\n")
        lines.append(line)
        if line.startswith("WRK-THREAD-DONE "):
            _, _, start, end = line.split()
            spans.append((float(start), float(end)))
            if len(spans) == WRK_THREADS and process.returncode is None:
                process.send_signal(signal.SIGINT)
    await process.wait()
    return lines, spans


async def load(
    requests: list[Request], *, connections: int = 64, time_limit: float = 120.0, target: str | None = None
) -> LoadResult:
    """wrk when it is installed (``make bench`` installs it), else the aiohttp client (a warning says so);
    ``target``: the origin to send them to, their Host header unchanged (:func:`wrk_post_all`)."""
    if have_wrk():
        return await wrk_post_all(requests, connections=connections, time_limit=time_limit, target=target)
    print("  (wrk is not installed: the Python client drives this load; `make wrk` installs it)", flush=True)
    if target is not None:
        requests = [_sent_to(request, target) for request in requests]
    return await post_all(requests, connections=connections, time_limit=time_limit)


def _sent_to(request: Request, target: str) -> Request:
    """The same request addressed to ``target`` (an origin), its Host header still its own URL's."""
    parts = urlsplit(request.url)
    url = target.rstrip("/") + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Request(url, request.body, {"Host": parts.netloc, **request.headers})


async def load_spread(
    requests: list[Request], targets: list[str], *, connections: int = 64, time_limit: float = 120.0
) -> LoadResult:
    """The requests dealt out in turn to ``targets`` (origins: one per server process, as a balancer
    spreads them), every share loaded at once by a client of its own with its share of the
    connections. One result: statuses summed, the time from the first client's start to the last
    answer, the highest of the shares' percentiles."""
    if len(targets) == 1:
        return await load(requests, connections=connections, time_limit=time_limit, target=targets[0])
    shares = [requests[i :: len(targets)] for i in range(len(targets))]
    each = max(1, connections // len(targets))
    results = await asyncio.gather(
        *(
            load(share, connections=each, time_limit=time_limit, target=target)
            for share, target in zip(shares, targets, strict=True)
        )
    )
    return merged(list(results))


def merged(results: list[LoadResult]) -> LoadResult:
    """Several clients' results run at once, as one (see :func:`load_spread`)."""
    statuses: dict[int | str, int] = {}
    for result in results:
        for status, n in result.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    started_at = min(r.started_at for r in results)
    spans = [r.span for r in results if r.span is not None]
    if len(spans) == len(results):
        elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    else:
        elapsed = max(r.started_at + r.elapsed for r in results) - started_at
    marks = {p for r in results for p in r.percentiles_ms}
    return LoadResult(
        sent=sum(r.sent for r in results),
        elapsed=elapsed,
        latencies=[x for r in results for x in r.latencies],
        statuses=statuses,
        started_at=started_at,
        percentiles_ms={p: max(r.percentiles_ms.get(p, 0.0) for r in results) for p in marks},
        client=results[0].client,
        span=(min(s for s, _ in spans), max(e for _, e in spans)) if spans else None,
    )


class ClientCeiling:
    """Raw 202 responders (``benchmarks._raw_responder``), each in its own process, loaded by the
    same client as the servers measured: what the client itself reaches on this machine. With
    several (``responders``), the load is spread over them as over several server processes."""

    async def measure(self, requests: list[Request], *, connections: int = 64, responders: int = 1) -> LoadResult:
        directory = workdir("ceiling")
        servers: list[ServerProcess] = []
        try:
            targets = []
            for number in range(responders):
                port = free_port()
                servers.append(
                    ServerProcess(
                        "raw responder",
                        python_cmd("-m", "benchmarks._raw_responder", "--port", str(port)),
                        log=directory / f"raw-{number}.log",
                    )
                )
                await servers[-1].wait_ready(f"http://{LOOPBACK}:{port}/healthz")
                targets.append(f"http://{LOOPBACK}:{port}")
            if responders == 1:  # addressed to it, as it always was
                moved = [Request(f"{targets[0]}/inbox", r.body, r.headers) for r in requests]
                return await load(moved, connections=connections)
            return await load_spread(requests, targets, connections=connections)
        finally:
            for server in servers:
                server.stop()


# --- keys and signing ------------------------------------------------------------------------


def _generate_pem(_: int) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def remote_private_pems(count: int) -> list[str]:
    """``count`` RSA-2048 private keys (PEM), generated once on all cores and cached in results/cache."""
    KEY_CACHE.mkdir(parents=True, exist_ok=True)
    path = KEY_CACHE / "remote-rsa-2048.pem"
    marker = "-----END PRIVATE KEY-----\n"
    pems = [chunk + marker for chunk in path.read_text().split(marker) if chunk.strip()] if path.exists() else []
    if len(pems) < count:
        print(
            f"  generating {count - len(pems)} RSA-2048 keys for the remote actors (cached for later runs)...",
            flush=True,
        )
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            pems += list(pool.map(_generate_pem, range(count - len(pems)), chunksize=16))
        path.write_text("".join(pems))
    return pems[:count]


def public_pem_of(private_pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    # Our own freshly generated keys: skipping the RSA consistency check saves ~50 ms per key.
    key = serialization.load_pem_private_key(private_pem.encode(), None, unsafe_skip_rsa_key_validation=True)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


_SIGNING_KEYS: list = []


def _load_signing_keys(pems: list[str]) -> None:
    from cryptography.hazmat.primitives import serialization

    _SIGNING_KEYS[:] = [
        serialization.load_pem_private_key(p.encode(), None, unsafe_skip_rsa_key_validation=True) for p in pems
    ]


def _sign_chunk(jobs: list[tuple[str, int, str, bytes]]) -> list[dict[str, str]]:
    """Sign (url, key index, key id, body) jobs as Mastodon does: cavage rsa-sha256 with a Digest."""
    from federation.signatures import sign_request

    now = datetime.now(UTC)
    return [
        sign_request(
            "POST",
            url,
            body,
            key_id=key_id,
            private_key=_SIGNING_KEYS[index],
            now=now,
            headers={"Content-Type": "application/activity+json"},
        )
        for url, index, key_id, body in jobs
    ]


def sign_all(pems: list[str], jobs: list[tuple[str, int, str, bytes]]) -> list[dict[str, str]]:
    """Sign many requests on every core (the cost is the sender's, not the server's); Date is now."""
    cores = os.cpu_count() or 2
    size = max(1, -(-len(jobs) // (cores * 4)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(max_workers=cores, initializer=_load_signing_keys, initargs=(pems,)) as pool:
        return [headers for chunk in pool.map(_sign_chunk, chunks) for headers in chunk]


# --- remote actors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteActorSet:
    """N remote actors on one loopback origin, each with its own RSA key."""

    origin: str
    private_pems: list[str]
    public_pems: list[str]

    def actor_id(self, i: int) -> str:
        return f"{self.origin}/users/u{i}"

    def key_id(self, i: int) -> str:
        return f"{self.actor_id(i)}#main-key"

    def document(self, i: int) -> dict:
        actor = self.actor_id(i)
        return {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": f"u{i}",
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "followers": f"{actor}/followers",
            "endpoints": {"sharedInbox": f"{self.origin}/inbox"},
            "publicKey": {"id": self.key_id(i), "owner": actor, "publicKeyPem": self.public_pems[i]},
        }


def make_actor_set(count: int, origin: str) -> RemoteActorSet:
    private = remote_private_pems(count)
    return RemoteActorSet(origin, private, [public_pem_of(p) for p in private])


def create_note(actors: RemoteActorSet, i: int, serial: str) -> bytes:
    """A Create(Note) as Mastodon sends one (public, to the actor's followers), serialised."""
    import orjson

    actor = actors.actor_id(i)
    note_id = f"{actor}/statuses/{serial}"
    published = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    activity = {
        "@context": [AS, {"sensitive": "as:sensitive"}],
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor,
        "published": published,
        "to": [PUBLIC],
        "cc": [f"{actor}/followers"],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor,
            "published": published,
            "to": [PUBLIC],
            "cc": [f"{actor}/followers"],
            "sensitive": False,
            "summary": None,
            "url": f"{actors.origin}/@u{i}/{serial}",
            "inReplyTo": None,
            "content": f"<p>Benchmark note {serial} from u{i}: the chapter meets on Thursday.</p>",
            "contentMap": {"en": f"<p>Benchmark note {serial} from u{i}: the chapter meets on Thursday.</p>"},
            "attachment": [],
            "tag": [],
        },
    }
    return orjson.dumps(activity)


# --- the node as a separate process ----------------------------------------------------------

NODE_NAME = "bench"
ADMIN_TOKEN = "bench-admin-token-0123456789"  # noqa: S105 (a loopback bench node)


@dataclass(frozen=True)
class NodeSetup:
    port: int
    config: Path
    #: the SQLite file; for a node on PostgreSQL, its address (``postgresql://...?search_path=...``)
    database: Path | str

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base_url}/users/{NODE_NAME}"


def node_setup(directory: Path, *, port: int | None = None, database: str | None = None, **federation) -> NodeSetup:
    """A config file for a node on a loopback port (a free one unless given: rounds that replay the
    same signed requests, whose signatures cover the host and port, reuse one), with its own SQLite
    file, or the PostgreSQL ``database`` (a URL) given."""
    port = port or free_port()
    store: Path | str = database or directory / "node.sqlite3"
    # The load comes from 1,000 actors behind one loopback address: the per-host inbox limit
    # would rightly throttle that, so the bench lifts the limits (it measures speed, not policy).
    options = {
        "allow_private_addresses": True,
        "inbox_per_host_per_minute": 10_000_000,
        "inbox_per_host_burst": 1_000_000,
        "inbox_per_actor_per_minute": 10_000_000,
        "inbox_per_actor_burst": 1_000_000,
        **federation,
    }
    lines = [
        "[node]",
        f'base_url = "http://{LOOPBACK}:{port}"',
        f'listen = "{LOOPBACK}:{port}"',
        f'name = "{NODE_NAME}"',
        'display_name = "Benchmark chapter"',
        "",
        "[storage]",
        f'database = "{store}"',
        "",
        "[admin]",
        f'token = "{ADMIN_TOKEN}"',
        "",
        "[federation]",
        *(f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in options.items()),
    ]
    config = directory / "node.toml"
    config.write_text("\n".join(lines) + "\n")
    return NodeSetup(port, config, store)


async def migrate_database(address: Path | str) -> None:
    """Create the node's schema before it starts, so a benchmark can seed rows straight into it."""
    db = store_at(address)
    await db.open()
    await db.close()


async def start_node(
    setup: NodeSetup, log_dir: Path, *, port: int | None = None, workers: str | None = None, label: str = "node"
) -> ServerProcess:
    """``chapterhouse serve`` as production runs it, logging warnings only (no access log lines).

    ``port``: this process listens there instead of the config's port (another of one node's
    processes behind one address: same ``base_url``, its own ``listen``); ``workers``: its
    ``--workers`` (PostgreSQL); ``label`` names its log file."""
    config, listen = setup.config, setup.port
    if port is not None and port != setup.port:
        config, listen = setup.config.with_name(f"{setup.config.stem}-{port}.toml"), port
        text = setup.config.read_text().replace(f'listen = "{LOOPBACK}:{setup.port}"', f'listen = "{LOOPBACK}:{port}"')
        config.write_text(text)
    command = ["serve", "--config", str(config), *(["--workers", workers] if workers is not None else [])]
    node = ServerProcess(
        "chapterhouse" if label == "node" else f"chapterhouse {label}",
        python_cmd("-m", "node.cli", "--log-level", "WARNING", *command),
        log=log_dir / f"{label}.log",
    )
    try:
        await node.wait_ready(f"http://{LOOPBACK}:{listen}/healthz")
    except BaseException:
        node.stop()
        raise
    return node


async def start_worker(setup: NodeSetup, log_dir: Path, *, only: str, label: str) -> ServerProcess:
    """``chapterhouse worker --only ...`` (PostgreSQL): background work, no HTTP; ready when its
    ``/metrics`` answers (on a port of its own)."""
    metrics = free_port()
    command = ["worker", "--only", only, "--name", label, "--metrics-listen", f"{LOOPBACK}:{metrics}"]
    worker = ServerProcess(
        f"chapterhouse {label}",
        python_cmd("-m", "node.cli", "--log-level", "WARNING", *command, "--config", str(setup.config)),
        log=log_dir / f"{label}.log",
    )
    try:
        await worker.wait_ready(f"http://{LOOPBACK}:{metrics}/metrics")
    except BaseException:
        worker.stop()
        raise
    return worker


class ProcessGroup:
    """One node's several processes: CPU time summed, the largest peak memory, stopped together."""

    def __init__(self) -> None:
        self.processes: list[ServerProcess] = []

    def add(self, process: ServerProcess) -> ServerProcess:
        self.processes.append(process)
        return process

    def cpu_seconds(self) -> float:
        return sum(process.cpu_seconds() for process in self.processes)

    def peak_rss_mb(self) -> float:
        return max(process.peak_rss_mb() for process in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# --- a node's store from outside: its SQLite file, or its PostgreSQL schema -------------------


def is_postgres(address: Path | str) -> bool:
    return str(address).startswith(("postgresql://", "postgres://"))


def store_at(address: Path | str):
    """The node's own store (not yet open) at ``address``, with every migration: what
    ``chapterhouse serve`` opens for that ``[storage] database``."""
    from node.core.config import StorageConfig
    from node.core.db import make_store
    from node.web.app import all_migrations

    storage = StorageConfig(url=str(address)) if is_postgres(address) else StorageConfig(database=Path(address))
    return make_store(storage, all_migrations())


class StoreReader:
    """``async with StoreReader(address) as read: await read.value(sql, params)``: a node's store
    read from outside while it runs, as an operator would (SQLite: the file, read-only; PostgreSQL:
    one connection of its own). SQL with ``?`` parameters either way."""

    def __init__(self, address: Path | str) -> None:
        self.address = address
        self._sqlite = None
        self._postgres = None

    async def __aenter__(self) -> StoreReader:
        if is_postgres(self.address):
            import asyncpg

            self._postgres = await asyncpg.connect(str(self.address))
        else:
            import sqlite3

            self._sqlite = sqlite3.connect(f"file:{self.address}?mode=ro", uri=True, timeout=10)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._postgres is not None:
            await self._postgres.close()
        if self._sqlite is not None:
            self._sqlite.close()

    async def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._sqlite is not None:
            return self._sqlite.execute(sql, params).fetchall()
        from node.core.postgres import numbered

        assert self._postgres is not None
        text = numbered(sql)[0] if params else sql
        return [tuple(row) for row in await self._postgres.fetch(text, *params)]

    async def value(self, sql: str, params: tuple = ()):
        found = await self.rows(sql, params)
        return found[0][0] if found else None


def write_rows(address: Path | str, sql: str, rows: list[tuple]) -> None:
    """A statement run for each of ``rows`` (one transaction; ``?`` parameters) straight on a node's store,
    while no process of it runs (seeding it before it starts, say)."""
    if not is_postgres(address):
        import sqlite3

        conn = sqlite3.connect(address)
        try:
            with conn:
                conn.executemany(sql, rows)
        finally:
            conn.close()
        return

    async def write() -> None:
        import asyncpg

        from node.core.postgres import numbered

        conn = await asyncpg.connect(str(address))
        try:
            async with conn.transaction():
                await conn.executemany(numbered(sql)[0], rows)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write()).result()


def query(address: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    """One read of a node's store (:class:`StoreReader`), from synchronous code."""

    async def read() -> list[tuple]:
        async with StoreReader(address) as reader:
            return await reader.rows(sql, params)

    with ThreadPoolExecutor(1) as pool:  # callable from inside a running event loop too
        return pool.submit(asyncio.run, read()).result()


# --- profiling a server under load (py-spy, attached by pid) ---------------------------------


class Profile:
    """``async with Profile(server, "name"):`` samples ``server`` with py-spy while the block runs.

    Only when ``BENCH_PROFILE`` names a folder (``BENCH_PROFILE=/tmp/prof python -m benchmarks.bench_x``):
    then py-spy (``pip install py-spy``) attaches to the server's pid and writes collapsed
    stacks (``name.txt``, summed by ``python -m benchmarks.profile_top name.txt``). Otherwise
    it does nothing, so figures measured without it carry no sampling cost.
    """

    def __init__(self, server: ServerProcess, name: str) -> None:
        self.server = server
        self.name = name
        self.process: subprocess.Popen | None = None

    async def __aenter__(self) -> Profile:
        folder = os.environ.get("BENCH_PROFILE")
        if folder:
            self.process = await asyncio.to_thread(self._attach, Path(folder))
            await asyncio.sleep(1.0)  # attached before the load starts
        return self

    def _attach(self, folder: Path) -> subprocess.Popen:
        folder.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        output = str(folder / f"{self.name}.txt")
        return subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(self.server.pid),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                output,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def __aexit__(self, *exc) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            await asyncio.to_thread(self.process.wait, 30)
