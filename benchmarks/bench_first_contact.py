"""First contact: a burst of Follows from actors the node has never seen, all on one large server.

When a chapter's post travels far on a big server, hundreds of its users the node has never
seen send at once (issue 23): each request needs its signer's key fetched (a signed GET),
the actor stored, and the Follow's worker learns what software the host runs (its NodeInfo).

One node (``chapterhouse serve``, its own process, the shipped key-fetch limits: two fetches
at a time per host) and one remote server (``benchmarks._member_host``, its own process, one
loopback port serving every actor's document and a 404 for NodeInfo). In each round, N signed
``Follow``s from N actors whose keys the node has never fetched, and N from N other actors
whose keys are already stored (the baseline: the same requests with keys cached), alternating
which goes first, over 64 connections (``wrk`` replaying the signed requests, as the inbox
bench; the aiohttp client without wrk). Figures: accepted per second (202), processed per
second (every item ``done``), and how many GETs the remote server had (actor documents and
NodeInfo: once per actor and once per host is the aim).

Run: ``python -m benchmarks.bench_first_contact [--quick]``.
"""

from __future__ import annotations

import statistics
import uuid

import aiohttp
import orjson

from benchmarks._support import (
    AS,
    LOOPBACK,
    ClientCeiling,
    Profile,
    RemoteActorSet,
    Request,
    ServerProcess,
    free_port,
    load,
    make_actor_set,
    migrate_database,
    node_setup,
    python_cmd,
    sign_all,
    start_node,
    workdir,
)
from benchmarks.bench_inbox import _last_seq, seed_remote_actors, wait_all_done
from benchmarks.report import Figure, run_standalone

CONNECTIONS = 64
ROUNDS = 3
DETAILS: dict = {}


def follows(actors: RemoteActorSet, indexes: range, node_actor: str, url: str, run: str) -> list[Request]:
    bodies = [
        orjson.dumps(
            {
                "@context": AS,
                "id": f"{actors.actor_id(i)}/follows/{run}",
                "type": "Follow",
                "actor": actors.actor_id(i),
                "object": node_actor,
            }
        )
        for i in indexes
    ]
    headers = sign_all(
        actors.private_pems, [(url, i, actors.key_id(i), body) for i, body in zip(indexes, bodies, strict=True)]
    )
    return [Request(url, body, h) for body, h in zip(bodies, headers, strict=True)]


async def _counts(port: int) -> dict:
    async with aiohttp.ClientSession() as session, session.get(f"http://{LOOPBACK}:{port}/counts") as response:
        return await response.json()


async def one_round(n: int, round_: int, run: str, host_port: int, actors: RemoteActorSet) -> dict:
    """One node: N first-contact Follows and N cached-key Follows, in the round's order."""
    directory = workdir("first-contact")
    setup = node_setup(directory)
    await migrate_database(setup.database)
    new, known = range(round_ * 2 * n, round_ * 2 * n + n), range(round_ * 2 * n + n, (round_ + 1) * 2 * n)
    await seed_remote_actors_range(setup.database, actors, known)
    url = f"{setup.base_url}/inbox"
    batches = {
        "first contact": follows(actors, new, setup.actor_id, url, run),
        "keys cached": follows(actors, known, setup.actor_id, url, run),
    }
    order = list(batches) if round_ % 2 == 0 else list(reversed(batches))
    node = await start_node(setup, directory)
    figures: dict = {}
    try:
        for name in order:
            gets_before = await _counts(host_port)
            before = _last_seq(setup.database)
            cpu_before = node.cpu_seconds()
            async with Profile(node, f"first-contact-{round_ + 1}-{name.replace(' ', '-')}"):
                result = await load(batches[name], connections=CONNECTIONS, time_limit=60)
                processed = await wait_all_done(
                    setup.database, result.count(202), result.started_at, after_seq=before, time_limit=60
                )
            cpu = node.cpu_seconds() - cpu_before
            gets = await _counts(host_port)
            figures[name] = {
                "cpu_per_request_us": cpu / max(1, result.sent) * 1e6,
                "accepted": result.rate(202),
                "processed": result.count(202) / processed,
                "p50": result.percentile_ms(50),
                "p99": result.percentile_ms(99),
                "statuses": {str(k): v for k, v in result.statuses.items()},
                "gets": {k: v - gets_before.get(k, 0) for k, v in gets.items()},
            }
            print(
                f"  first contact round {round_ + 1}, {name}: {figures[name]['accepted']:,.0f} accepted/s,"
                f" {figures[name]['processed']:,.0f} processed/s, {figures[name]['statuses']},"
                f" node CPU {figures[name]['cpu_per_request_us']:,.0f} µs/request,"
                f" remote GETs {figures[name]['gets']}",
                flush=True,
            )
    finally:
        node.stop()
    figures["ceiling"] = (await ClientCeiling().measure(batches["keys cached"], connections=CONNECTIONS)).rate(202)
    return figures


async def seed_remote_actors_range(database, actors: RemoteActorSet, indexes: range) -> None:
    """Store these actors and their keys as a fetch would have (the node's own store functions)."""
    await seed_remote_actors(database, _Slice(actors, indexes.start), len(indexes))


class _Slice(RemoteActorSet):
    """The actors from ``start`` on, numbered from 0 (for the seeding function)."""

    def __init__(self, actors: RemoteActorSet, start: int) -> None:
        object.__setattr__(self, "origin", actors.origin)
        object.__setattr__(self, "private_pems", actors.private_pems[start:])
        object.__setattr__(self, "public_pems", actors.public_pems[start:])
        object.__setattr__(self, "_start", start)

    def actor_id(self, i: int) -> str:
        return f"{self.origin}/users/u{i + self._start}"


async def measure(quick: bool) -> list[Figure]:
    n = 100 if quick else 500
    rounds = 1 if quick else ROUNDS
    run = uuid.uuid4().hex[:8]
    host_port = free_port()
    count = 2 * n * rounds
    actors = make_actor_set(count, f"http://{LOOPBACK}:{host_port}")
    directory = workdir("first-contact-host")
    host = ServerProcess(
        "member host",
        python_cmd("-m", "benchmarks._member_host", "--port", str(host_port), "--count", str(count)),
        log=directory / "host.log",
    )
    try:
        await host.wait_ready(f"http://{LOOPBACK}:{host_port}/counts")
        rounds_ = [await one_round(n, r, run, host_port, actors) for r in range(rounds)]
    finally:
        host.stop()
    DETAILS.update(requests=n, connections=CONNECTIONS, rounds=rounds_)

    def span(name: str, what: str) -> list[float]:
        return [r[name][what] for r in rounds_]

    figures = []
    for what in ("accepted", "processed"):
        first, cached = span("first contact", what), span("keys cached", what)
        ratios = [f / c for f, c in zip(first, cached, strict=True)]
        print(f"  first contact {what}: ratio to keys cached {min(ratios):.2f}-{max(ratios):.2f} over {rounds} rounds")
        shown = sorted(range(rounds), key=lambda i: ratios[i])[rounds // 2]  # the median round
        figures.append(
            Figure(
                "first contact",
                f"{what}, {n} Follows from {n} new actors on one host",
                first[shown],
                "req/s",
                "the same Follows from actors whose keys are stored, same round",
                cached[shown],
                target=0.5,
                ratios=tuple(ratios),
                ceiling=statistics.median(r["ceiling"] for r in rounds_),
            )
        )
    gets = rounds_[-1]["first contact"]["gets"]
    DETAILS["remote_gets_first_contact"] = gets
    return figures


if __name__ == "__main__":
    run_standalone(measure)
