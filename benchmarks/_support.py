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
from concurrent.futures import ProcessPoolExecutor
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


async def wrk_post_all(requests: list[Request], *, connections: int = 64, time_limit: float = 120.0) -> LoadResult:
    """POST every request exactly once with wrk (``benchmarks/wrk/replay.lua``), ``connections``
    keep-alive connections on ``WRK_THREADS`` threads; stops when each has its answer, or at
    ``time_limit``. All requests must go to one origin. Latency percentiles are wrk's."""
    if not requests:
        return LoadResult(sent=0, elapsed=0.0, client="wrk")
    origin = urlsplit(requests[0].url)
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


async def load(requests: list[Request], *, connections: int = 64, time_limit: float = 120.0) -> LoadResult:
    """wrk when it is installed (``make bench`` installs it), else the aiohttp client (a warning says so)."""
    if have_wrk():
        return await wrk_post_all(requests, connections=connections, time_limit=time_limit)
    print("  (wrk is not installed: the Python client drives this load; `make wrk` installs it)", flush=True)
    return await post_all(requests, connections=connections, time_limit=time_limit)


class ClientCeiling:
    """A raw 202 responder (``benchmarks._raw_responder``) in its own process, loaded by the same
    client as the servers measured: what the client itself reaches on this machine."""

    async def measure(self, requests: list[Request], *, connections: int = 64) -> LoadResult:
        directory = workdir("ceiling")
        port = free_port()
        server = ServerProcess(
            "raw responder",
            python_cmd("-m", "benchmarks._raw_responder", "--port", str(port)),
            log=directory / "raw.log",
        )
        try:
            await server.wait_ready(f"http://{LOOPBACK}:{port}/healthz")
            moved = [Request(f"http://{LOOPBACK}:{port}/inbox", r.body, r.headers) for r in requests]
            return await load(moved, connections=connections)
        finally:
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
    database: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base_url}/users/{NODE_NAME}"


def node_setup(directory: Path, *, port: int | None = None, **federation) -> NodeSetup:
    """A config file for a node on a loopback port (a free one unless given: rounds that replay the
    same signed requests, whose signatures cover the host and port, reuse one), with its own SQLite file."""
    port = port or free_port()
    database = directory / "node.sqlite3"
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
        f'database = "{database}"',
        "",
        "[admin]",
        f'token = "{ADMIN_TOKEN}"',
        "",
        "[federation]",
        *(f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in options.items()),
    ]
    config = directory / "node.toml"
    config.write_text("\n".join(lines) + "\n")
    return NodeSetup(port, config, database)


async def migrate_database(path: Path) -> None:
    """Create the node's schema before it starts, so a benchmark can seed rows straight into it."""
    from node.core.db import Database
    from node.web.app import all_migrations

    db = Database(path, migrations=all_migrations())
    await db.open()
    await db.close()


async def start_node(setup: NodeSetup, log_dir: Path) -> ServerProcess:
    """``chapterhouse serve`` as production runs it, logging warnings only (no access log lines)."""
    node = ServerProcess(
        "chapterhouse",
        python_cmd("-m", "node.cli", "--log-level", "WARNING", "serve", "--config", str(setup.config)),
        log=log_dir / "node.log",
    )
    try:
        await node.wait_ready(f"{setup.base_url}/healthz")
    except BaseException:
        node.stop()
        raise
    return node


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
