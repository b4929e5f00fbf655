"""Delivery fan-out: one post to 10,000 followers on 1,000 hosts, until every host has it.

The hosts are sinks (:mod:`benchmarks._sinks`): one separate process listening on 1,000
loopback ports, each port a host with a shared inbox, counting what arrives; on a sample of
20 hosts every request's HTTP signature is verified with ``federation.signatures`` against
the node's public key (taken from its actor document). The node runs as production runs it
(``chapterhouse serve``, separate process). Its 10,000 followers (10 per host, all naming
their host's shared inbox) are written straight into its ``followers`` table before it
starts. The clock starts when the admin POSTs the Note to the outbox (composing, addressing,
queueing 1,000 deliveries, one per shared inbox, are part of the time) and stops when every
host has received it. ``delivery_concurrency`` is set to 64 for the bench (the default is
32): hosts in flight at once, still never more than one request per host.

Baseline, in the same run against the same sinks: 1,000 RSA-2048 signatures with
``cryptography``, then 1,000 unsigned POSTs of the same body with an aiohttp client at the
same concurrency (64); its rate is 1,000 over the sum of both times.

Run: ``python -m benchmarks.bench_fanout [--quick]``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from benchmarks._support import (
    ADMIN_TOKEN,
    AS,
    LOOPBACK,
    NODE_NAME,
    PUBLIC,
    NodeSetup,
    ProcessGroup,
    Request,
    ServerProcess,
    free_port,
    migrate_database,
    node_setup,
    post_all,
    python_cmd,
    start_node,
    workdir,
    write_rows,
)
from benchmarks.report import Figure, run_standalone

CONCURRENCY = 64
SAMPLE_HOSTS = 20
DETAILS: dict = {}


def seed_followers(database: Path | str, ports: list[int], per_host: int) -> int:
    """``per_host`` accepted followers on each sink host, all with that host's shared inbox."""
    now = time.time()
    rows = []
    for port in ports:
        origin = f"http://{LOOPBACK}:{port}"
        for k in range(per_host):
            actor = f"{origin}/users/f{k}"
            rows.append(
                (NODE_NAME, actor, f"{origin}/follows/{k}", f"{actor}/inbox", f"{origin}/inbox", "accepted", now)
            )
    write_rows(
        database,
        "INSERT INTO followers (username, follower_id, follow_id, inbox, shared_inbox, state,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


async def start_sinks(hosts: int, directory: Path) -> tuple[ServerProcess, str, list[int]]:
    control_port = free_port()
    sinks = ServerProcess(
        "sinks",
        python_cmd("-m", "benchmarks._sinks", "--hosts", str(hosts), "--control-port", str(control_port)),
        log=directory / "sinks.log",
    )
    control = f"http://{LOOPBACK}:{control_port}"
    try:
        await sinks.wait_ready(f"{control}/ports", timeout=120)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{control}/ports") as response:
                ports = await response.json()
    except BaseException:
        sinks.stop()
        raise
    return sinks, control, ports


async def _control(method: str, url: str, payload: dict | None = None) -> dict:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.request(method, url, json=payload) as response:
            return await response.json()


async def wait_all_hosts(control: str, hosts: int, started: float, *, time_limit: float) -> tuple[float, dict]:
    deadline = time.monotonic() + time_limit
    while True:
        counts = await _control("GET", f"{control}/counts")
        if counts["hosts"] >= hosts:
            return time.monotonic() - started, counts
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {counts['hosts']} of {hosts} hosts reached after {time_limit:.0f}s: {counts}")
        await asyncio.sleep(0.01)


async def run_node(control: str, ports: list[int], per_host: int, *, prefill=None) -> dict:
    directory = workdir("fanout-node")
    setup = node_setup(directory, delivery_concurrency=CONCURRENCY)
    if prefill is not None:
        prefill(setup.database)  # rows already stored (bench_growth), before the node's own seeding
    await migrate_database(setup.database)
    followers = seed_followers(setup.database, ports, per_host)
    node = await start_node(setup, directory)
    try:
        return {**await publish_and_wait(setup, control, ports, node), "followers": followers}
    finally:
        node.stop()


async def publish_and_wait(
    setup: NodeSetup, control: str, ports: list[int], node: ServerProcess | ProcessGroup
) -> dict:
    """The admin POSTs a Note to the running ``node``'s outbox: seconds until every sink host has it."""
    async with aiohttp.ClientSession() as session:
        async with session.get(setup.actor_id, headers={"Accept": "application/activity+json"}) as response:
            public_pem = (await response.json(content_type=None))["publicKey"]["publicKeyPem"]
    await _control("POST", f"{control}/reset", {"public_pem": public_pem, "sample": ports[:SAMPLE_HOSTS]})
    note = {
        "@context": AS,
        "type": "Note",
        "content": "<p>The chapter meets on Thursday at seven.</p>",
        "to": [PUBLIC],
        "cc": [f"{setup.actor_id}/followers"],
    }
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{setup.actor_id}/outbox",
            json=note,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/activity+json"},
        ) as response:
            published = await response.json(content_type=None)
            if response.status != 201:
                raise RuntimeError(f"publishing answered {response.status}: {published}")
    seconds, counts = await wait_all_hosts(control, len(ports), started, time_limit=120)
    rss = node.peak_rss_mb()
    if counts["failed"] or counts["verified"] < SAMPLE_HOSTS:
        print(
            f"  fan-out: sampled signatures: {counts['verified']} verified, {counts['failed']} failed "
            f"{counts['reasons']}",
            flush=True,
        )
    return {
        "seconds": seconds,
        "deliveries": published.get("deliveries"),
        "posts_received": counts["total"],
        "sample_verified": counts["verified"],
        "sample_failed": counts["failed"],
        "rss": rss,
    }


async def run_baseline(control: str, ports: list[int], body: bytes) -> dict:
    await _control("POST", f"{control}/reset", {})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    began = time.perf_counter()
    for port in ports:
        key.sign(
            b"(request-target): post /inbox\nhost: 127.0.0.1:%d\ndate: Thu, 01 Jan 2026 00:00:00 GMT\n"
            b"digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" % port,
            pkcs1,
            sha256,
        )
    signing = time.perf_counter() - began
    requests = [
        Request(f"http://{LOOPBACK}:{port}/inbox", body, {"Content-Type": "application/activity+json"})
        for port in ports
    ]
    result = await post_all(requests, connections=CONCURRENCY, time_limit=120)
    counts = await _control("GET", f"{control}/counts")
    if counts["hosts"] < len(ports):
        raise RuntimeError(f"baseline reached only {counts['hosts']} hosts: {result.statuses}")
    return {"seconds": signing + result.elapsed, "signing": signing, "posting": result.elapsed}


async def measure(quick: bool) -> list[Figure]:
    hosts = 100 if quick else 1_000
    per_host = 10
    directory = workdir("fanout")
    sinks, control, ports = await start_sinks(hosts, directory)
    try:
        node = await run_node(control, ports, per_host)
        body = (
            b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"http://127.0.0.1/u",'
            b'"object":{"type":"Note","content":"<p>The chapter meets on Thursday at seven.</p>"}}'
        )
        base = await run_baseline(control, ports, body)
    finally:
        sinks.stop()
    DETAILS.update(hosts=hosts, followers=node["followers"], chapterhouse=node, baseline=base)
    print(
        f"  fan-out: {node['followers']:,} followers, {node['deliveries']:,} deliveries, "
        f"{node['posts_received']:,} POSTs received; sampled signatures verified: "
        f"{node['sample_verified']} of {SAMPLE_HOSTS} hosts, {node['sample_failed']} failed",
        flush=True,
    )
    label = f"1,000 RSA-2048 signs + 1,000 unsigned POSTs ({CONCURRENCY} conc.)".replace("1,000", f"{hosts:,}")
    return [
        Figure(
            "fan-out",
            f"seconds until all {hosts:,} hosts have it",
            node["seconds"],
            "s",
            label,
            base["seconds"],
            higher_is_better=False,
        ),
        Figure(
            "fan-out",
            "deliveries per second",
            hosts / node["seconds"],
            "deliveries/s",
            label,
            hosts / base["seconds"],
            target=0.5,
        ),
    ]


if __name__ == "__main__":
    run_standalone(measure)
