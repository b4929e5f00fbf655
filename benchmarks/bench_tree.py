"""Relaying through the branch tree: a chapter's post to the followers of the international, two levels up.

Three nodes run as production runs them (``chapterhouse serve``, each its own process): an
international, a region and a chapter, linked by the handshake (each parent accepts its
child's host automatically), with the chapter's report at the top before anything is timed.
The international's followers are the fan-out bench's sinks (:mod:`benchmarks._sinks`: 1,000
loopback hosts, 20 of them verifying every signature against the international's key), written
into its ``followers`` table before it starts.

Each round, alternating (the machine's speed drifts):

* **plain**: the admin POSTs a Note to the international's own outbox: the time until the first
  host has it, and until every host has it (the plain fan-out of this run);
* **relayed**: the admin POSTs a Note to the CHAPTER's outbox: it goes to the region (a
  follower), is relayed there as an Announce to the international (its parent), and relayed
  there as an Announce of the post's id to every follower: the time until the first host has
  the Announce (the relay latency through two levels), and until every host has it.

Figures: relay latency beside the plain one-hop latency; relay fan-out rate (hosts / time until
all have it) beside the plain fan-out rate of the same run. Medians over the rounds.

Run: ``python -m benchmarks.bench_tree [--quick]``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from pathlib import Path

import aiohttp

from benchmarks._support import (
    ADMIN_TOKEN,
    AS,
    LOOPBACK,
    PUBLIC,
    NodeSetup,
    ServerProcess,
    free_port,
    migrate_database,
    python_cmd,
    workdir,
)
from benchmarks.bench_fanout import SAMPLE_HOSTS, _control, seed_followers, start_sinks
from benchmarks.report import Figure, run_standalone

CONCURRENCY = 64
DETAILS: dict = {}


def tree_setup(directory: Path, name: str, level: str, accept_from: list[str]) -> NodeSetup:
    """A node's config: its level, the hosts it accepts as children, a short report interval."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / f"{name}.sqlite3"
    accept = ", ".join(f'"{host}"' for host in accept_from)
    lines = [
        "[node]",
        f'base_url = "http://{LOOPBACK}:{port}"',
        f'listen = "{LOOPBACK}:{port}"',
        f'name = "{name}"',
        f'display_name = "Benchmark {name}"',
        f'level = "{level}"',
        f'location = "{name.title()}"',
        'founded = "2020-01-01"',
        "",
        "[storage]",
        f'database = "{database}"',
        "",
        "[admin]",
        f'token = "{ADMIN_TOKEN}"',
        "",
        "[federation]",
        "allow_private_addresses = true",
        f"delivery_concurrency = {CONCURRENCY}",
        "",
        "[tree]",
        f"accept_children_from = [{accept}]",
        "report_interval_seconds = 1",
        "",
    ]
    config = directory / f"{name}.toml"
    config.write_text("\n".join(lines))
    return NodeSetup(port, config, database)


async def _start(setup: NodeSetup, directory: Path, name: str) -> ServerProcess:
    node = ServerProcess(
        name,
        python_cmd("-m", "node.cli", "--log-level", "WARNING", "serve", "--config", str(setup.config)),
        log=directory / f"{name}.log",
    )
    await node.wait_ready(f"{setup.base_url}/healthz")
    return node


async def _post(session: aiohttp.ClientSession, setup: NodeSetup, activity: dict, actor: str) -> dict:
    async with session.post(
        f"{actor}/outbox",
        json=activity,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/activity+json"},
    ) as response:
        body = await response.json(content_type=None)
        if response.status != 201:
            raise RuntimeError(f"{actor}: {activity['type']} answered {response.status}: {body}")
        return body


def _actor(setup: NodeSetup, name: str) -> str:
    return f"{setup.base_url}/users/{name}"


async def _link(session, child: NodeSetup, child_name: str, parent: NodeSetup, parent_name: str) -> None:
    await _post(session, child, {"type": "Join", "object": _actor(parent, parent_name)}, _actor(child, child_name))


async def _wait_in_tree(session, top: NodeSetup, name: str, wanted: str, *, time_limit: float = 60) -> None:
    deadline = time.monotonic() + time_limit
    while time.monotonic() < deadline:
        async with session.get(f"{_actor(top, name)}/tree") as response:
            if wanted in await response.text():
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{wanted} did not reach the tree of {name} within {time_limit:.0f}s")


async def _timed(session, control: str, hosts: int, setup: NodeSetup, actor: str, content: str) -> tuple[float, float]:
    """POST a Note at ``actor``; seconds until the first host, and every host, has something."""
    note = {
        "@context": AS,
        "type": "Note",
        "content": f"<p>{content}</p>",
        "to": [PUBLIC],
        "cc": [f"{actor}/followers"],
    }
    started = time.monotonic()
    await _post(session, setup, note, actor)
    first = None
    deadline = started + 120
    while time.monotonic() < deadline:
        counts = await _control("GET", f"{control}/counts")
        now = time.monotonic() - started
        if counts["hosts"] and first is None:
            first = now
        if counts["hosts"] >= hosts:
            return first, now
        await asyncio.sleep(0.005)
    raise RuntimeError(f"only {counts['hosts']} of {hosts} hosts reached: {counts}")


async def _rounds(session, control, ports, nodes, rounds: int) -> dict:
    world, chapter = nodes["world"], nodes["london"]
    async with session.get(_actor(world, "world"), headers={"Accept": "application/activity+json"}) as response:
        public_pem = (await response.json(content_type=None))["publicKey"]["publicKeyPem"]
    results: dict[str, list[tuple[float, float]]] = {"plain": [], "relayed": []}
    for i in range(rounds):
        for kind, setup, actor in (
            ("plain", world, _actor(world, "world")),
            ("relayed", chapter, _actor(chapter, "london")),
        ):
            await _control("POST", f"{control}/reset", {"public_pem": public_pem, "sample": ports[:SAMPLE_HOSTS]})
            results[kind].append(await _timed(session, control, len(ports), setup, actor, f"{kind} round {i}"))
            await asyncio.sleep(0.5)  # let the last deliveries settle before the next reset
    counts = await _control("GET", f"{control}/counts")
    return {**results, "sample_verified": counts["verified"], "sample_failed": counts["failed"]}


async def run_tree(control: str, ports: list[int], rounds: int) -> dict:
    directory = workdir("tree")
    nodes = {"london": tree_setup(directory, "london", "chapter", [])}
    nodes["europe"] = tree_setup(directory, "europe", "region", [f"{LOOPBACK}:{nodes['london'].port}"])
    nodes["world"] = tree_setup(directory, "world", "international", [f"{LOOPBACK}:{nodes['europe'].port}"])
    await migrate_database(nodes["world"].database)
    seed_followers(nodes["world"].database, ports, 10)
    with sqlite3.connect(nodes["world"].database) as conn:  # seeded for the fan-out bench's node name
        conn.execute("UPDATE followers SET username = 'world'")
    processes = []
    try:
        for name, setup in nodes.items():
            processes.append(await _start(setup, directory, name))
        async with aiohttp.ClientSession() as session:
            await _link(session, nodes["europe"], "europe", nodes["world"], "world")
            await _link(session, nodes["london"], "london", nodes["europe"], "europe")
            await _wait_in_tree(session, nodes["world"], "world", _actor(nodes["london"], "london"))
            return await _rounds(session, control, ports, nodes, rounds)
    finally:
        for process in processes:
            process.stop()


async def measure(quick: bool) -> list[Figure]:
    hosts, rounds = (100, 2) if quick else (1_000, 3)
    sinks, control, ports = await start_sinks(hosts, workdir("tree-sinks"))
    try:
        result = await run_tree(control, ports, rounds)
    finally:
        sinks.stop()
    DETAILS.update(hosts=hosts, rounds=rounds, **result)
    first = {kind: statistics.median(f for f, _ in result[kind]) for kind in ("plain", "relayed")}
    whole = {kind: statistics.median(a for _, a in result[kind]) for kind in ("plain", "relayed")}
    print(
        f"  tree: {hosts:,} follower hosts of the international, {rounds} rounds; sampled signatures verified:"
        f" {result['sample_verified']}, failed {result['sample_failed']}",
        flush=True,
    )
    return [
        Figure(
            "tree",
            "relay latency, chapter post -> first follower of the international (2 levels)",
            first["relayed"] * 1000,
            "ms",
            "the international's own post -> first follower (1 hop)",
            first["plain"] * 1000,
            higher_is_better=False,
        ),
        Figure(
            "tree",
            f"relay fan-out to {hosts:,} hosts (from the chapter's post)",
            hosts / whole["relayed"],
            "deliveries/s",
            "plain fan-out of the international's own post, same run",
            hosts / whole["plain"],
        ),
    ]


if __name__ == "__main__":
    run_standalone(measure)
