"""Decisions at the top of the tree: checking and aggregating 1,000 signed chapter tallies of 100 members each.

Made before anything is timed: 1,000 chapters, each with its own Ed25519 key, 100 members on
its roll, 100 ballots (agree / abstain / disagree / block) as anonymous leaves, and its tally
signed as a chapter signs it (``node.decisions.tallying``: counts, voters, roll, tags, Merkle
root; FEP-8b32 ``eddsa-jcs-2022``), all serialised as they travel (JSON bodies).

Timed, alternating over rounds (the machine's speed drifts), medians reported:

* **check and aggregate**: what an international node does with them once the bodies are in:
  parse each tally and its leaves, verify its proof with its chapter's key, check it against its
  leaves (``tally.problems_with``: counts recounted, the RFC 9162 root recomputed over the 100
  leaves, voters against the roll, one tag per voter), check no participation tag is shared
  with another chapter, and decide (``outcome.decide``) over the 1,000 chapters;
* **parse only** (the baseline): ``json.loads`` of the same tally and leaves bodies.

What this leaves out: fetching the leaves over HTTP and storing each tally (one inbox item
each, measured by the inbox bench).

**Ballots at a chapter** (two ``chapterhouse serve`` processes on 127.0.0.1, a region and a
chapter linked by the handshake): the chapter has 1,000 members, remote actors whose keys are
cached in its database before it starts (as the inbox bench seeds them); the region's admin
issues a proposal by C2S; once the chapter has published its copy and frozen its roll, the
1,000 members' ballots (Mastodon's ``Create(Note)`` with ``name`` = the option, RSA-2048
signed beforehand) are POSTed at once to its shared inbox over 64 connections, by ``wrk``
replaying the signed requests (as the inbox bench; the aiohttp client without wrk). Timed: until
every ballot is counted on the copy (``poll_ballots``, polled read-only; each counted ballot
also gets its leaf and receipt Note, delivered to the members' server: a sink process,
``benchmarks._sinks``, which checks every receipt's signature); then, a second figure, until
every receipt has been delivered. Beside them, in
the same run, the same chapter-node setup taking 1,000 plain signed ``Create(Note)``s from the
same actors (the inbox bench's load): processed per second. Target: at least half of it.
Three rounds, alternating which goes first, each with the client's ceiling (a raw 202
responder under the same client, same requests); the median round and the range of the ratio.

Run: ``python -m benchmarks.bench_decisions [--quick]``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ed25519

from benchmarks._support import (
    LOOPBACK,
    ClientCeiling,
    NodeSetup,
    RemoteActorSet,
    Request,
    load,
    make_actor_set,
    migrate_database,
    sign_all,
    workdir,
)
from benchmarks.bench_fanout import _control, start_sinks
from benchmarks.bench_inbox import run_node, seed_remote_actors
from benchmarks.bench_tree import _actor, _link, _post, _start, _wait_in_tree, tree_setup
from benchmarks.report import Figure, run_standalone
from federation.proofs import add_proof, verify_proof
from node.decisions import documents as decision_documents
from node.decisions import leaves as ballot_leaves
from node.decisions import outcome

PROPOSAL = "https://world.example/objects/proposal"
OPTIONS = ("agree", "abstain", "disagree", "block")
DETAILS: dict = {}
#: Alternating rounds of the ballots and the plain inbox: a range, not one ratio.
BALLOT_ROUNDS = 3


def chapter_bodies(
    number: int,
    members: int,
    now: datetime,
    *,
    proposal: str = PROPOSAL,
    chapter: str | None = None,
    key: ed25519.Ed25519PrivateKey | None = None,
    published: str = "2030-01-01T00:00:00Z",
) -> tuple[bytes, bytes, ed25519.Ed25519PublicKey]:
    """Chapter ``number``'s signed tally of ``members`` ballots on ``proposal`` (its single question) and
    its leaves (JSON bodies, leaves at ``<chapter>/leaves``), and its public key; by default an
    invented chapter with a new key."""
    chapter = chapter or f"https://chapter{number}.example/users/c{number}"
    key = key or ed25519.Ed25519PrivateKey.generate()
    made = ballot_leaves.canonical_order(
        [
            ballot_leaves.leaf(proposal, chapter, f"{number}-{n:040x}", {proposal: [OPTIONS[n % 4]]})
            for n in range(members)
        ]
    )
    counts = {name: sum(1 for leaf in made if leaf["answers"][proposal] == [name]) for name in OPTIONS}
    document = decision_documents.decision_document(
        "DecisionTally",
        actor=chapter,
        proposal=proposal,
        published=published,
        questions=[{"id": proposal, "counts": counts, "voters": members}],
        voters=members,
        rollSize=members,
        exclusions=0,
        excludedMembers=0,
        merkleRoot=ballot_leaves.merkle_root(made),
        leaves=f"{chapter}/leaves",
    )
    signed = add_proof(document, private_key=key, verification_method=f"{chapter}#ed25519-key", created=now)
    return json.dumps(signed).encode(), json.dumps({"orderedItems": made}).encode(), key.public_key()


def check_and_aggregate(
    bodies: list[tuple[bytes, bytes, ed25519.Ed25519PublicKey]], proposal: str = PROPOSAL
) -> outcome.Outcome:
    """What every level does with each chapter's tally: the proof, the recount of its leaves (shape,
    canonical order, every figure compared), the Merkle root; then the outcome from the recounts."""
    ballots = {proposal: ballot_leaves.Ballot("oneOf", OPTIONS)}
    rows = []
    for tally_body, leaves_body, key in bodies:
        tally = json.loads(tally_body)
        made = json.loads(leaves_body)["orderedItems"]
        verify_proof(tally, key)
        counted = ballot_leaves.recount(ballots, made)
        problems = ballot_leaves.claim_problems(tally, counted)
        if problems or tally["merkleRoot"] != ballot_leaves.merkle_root(made):
            raise AssertionError(problems or "the root")
        question = counted.questions[proposal]
        rows.append(
            outcome.ChapterTally(tally["attributedTo"], tally["rollSize"], (), True, question.voters, question.counts)
        )
    policy = outcome.Policy(pass_threshold=0.5, block_share=0.3, turnout_quorum=0.25)
    return outcome.decide(policy, rows)


def parse_only(bodies) -> int:
    return sum(len(json.loads(t)) + len(json.loads(leaves)["orderedItems"]) for t, leaves, _ in bodies)


#: The chapter's 1,000 members share one loopback host: lift the per-host inbox limits (as the inbox bench does).
LIFTED = (
    "inbox_per_host_per_minute = 1000000000.0\ninbox_per_host_burst = 1000000\n"
    "inbox_per_actor_per_minute = 10000000.0\ninbox_per_actor_burst = 1000000\n"
)


def _lifted(setup: NodeSetup) -> NodeSetup:
    setup.config.write_text(setup.config.read_text().replace("[federation]\n", "[federation]\n" + LIFTED, 1))
    return setup


async def seed_members(database: Path, chapter: str, actors: RemoteActorSet, count: int) -> None:
    """The chapter's members, active before the proposal opens, written with the node's own store function."""
    from node.core.db import Database
    from node.membership import members
    from node.web.app import all_migrations

    await seed_remote_actors(database, actors, count)
    db = Database(database, migrations=all_migrations())
    await db.open()
    try:
        async with db.transaction() as conn:
            for i in range(count):
                await members.upsert_member(
                    conn, chapter=chapter, actor_id=actors.actor_id(i), state="active", now=time.time() - 60
                )
    finally:
        await db.close()


def _read_one(database: Path, sql: str, args: tuple = ()):
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchone()
    finally:
        conn.close()


async def _until(check, what: str, time_limit: float):
    deadline = time.monotonic() + time_limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise RuntimeError(f"{what} not within {time_limit:.0f} s")


def ballot(actors: RemoteActorSet, i: int, question: str, chapter: str) -> bytes:
    """A vote as Mastodon sends it: Create(Note) with name = the option, to the poll's author only."""
    voter = actors.actor_id(i)
    note = f"{voter}#votes/{uuid.uuid4().hex}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note}/activity",
        "type": "Create",
        "actor": voter,
        "to": [chapter],
        "object": {
            "id": note,
            "type": "Note",
            "name": OPTIONS[i % 4],
            "attributedTo": voter,
            "inReplyTo": question,
            "to": [chapter],
        },
    }
    return json.dumps(activity).encode()


async def _opened_copy(session, region: NodeSetup, chapter: NodeSetup) -> str:
    """The region's admin issues a proposal; the chapter's copied question, once it has frozen its roll."""
    proposal = {
        "type": "Question",
        "content": "<p>Adopt the charter?</p>",
        "oneOf": list(OPTIONS),
        "endTime": (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decision": {},
    }
    proposal_id = (await _post(session, region, proposal, _actor(region, "region")))["object"]
    row = await _until(
        lambda: _read_one(
            chapter.database, "SELECT questions FROM decision_copies WHERE proposal_id = ?", (proposal_id,)
        ),
        "the chapter's copy",
        60,
    )
    return next(ours for ours, theirs in json.loads(row[0]).items() if theirs == proposal_id)


async def _chapter_public_pem(session: aiohttp.ClientSession, actor: str) -> str:
    async with session.get(actor, headers={"Accept": "application/activity+json"}) as response:
        return (await response.json(content_type=None))["publicKey"]["publicKeyPem"]


async def _receipts_delivered(control: str, count: int, started: float, time_limit: float) -> tuple[float, dict]:
    """Seconds from ``started`` until the sinks have taken ``count`` POSTs (the receipts), and their counts."""
    deadline = time.monotonic() + time_limit
    while True:
        counts = await _control("GET", f"{control}/counts")
        if counts["total"] >= count or time.monotonic() > deadline:
            return time.monotonic() - started, counts
        await asyncio.sleep(0.02)


async def run_ballots(actors: RemoteActorSet, count: int, control: str, sink_port: int) -> dict:
    """Two processes, region and chapter; ``count`` ballots at once to the chapter's inbox; until all are
    counted, then until every receipt reached the members' server (the sinks, a third process)."""
    directory = workdir("decision-ballots")
    chapter = _lifted(tree_setup(directory, "chapter", "chapter", []))
    region = tree_setup(directory, "region", "region", [f"{LOOPBACK}:{chapter.port}"])
    await migrate_database(chapter.database)
    await seed_members(chapter.database, "chapter", actors, count)
    processes = []
    try:
        for name, setup in (("chapter", chapter), ("region", region)):
            processes.append(await _start(setup, directory, name))
        async with aiohttp.ClientSession() as session:
            await _link(session, chapter, "chapter", region, "region")
            await _wait_in_tree(session, region, "region", _actor(chapter, "chapter"))
            question = await _opened_copy(session, region, chapter)
            public_pem = await _chapter_public_pem(session, _actor(chapter, "chapter"))
        await _control("POST", f"{control}/reset", {"public_pem": public_pem, "sample": [sink_port]})
        url = f"{chapter.base_url}/inbox"
        bodies = [ballot(actors, i, question, _actor(chapter, "chapter")) for i in range(count)]
        headers = sign_all(actors.private_pems[:count], [(url, i, actors.key_id(i), b) for i, b in enumerate(bodies)])
        result = await load([Request(url, b, h) for b, h in zip(bodies, headers, strict=True)], time_limit=120)
        counted_sql = "SELECT COUNT(*) FROM poll_ballots WHERE question_id = ? AND counted = 1"
        await _until(
            lambda: _read_one(chapter.database, counted_sql, (question,))[0] >= count, "every ballot counted", 120
        )
        counted_after = time.monotonic() - result.started_at
        delivered_after, receipts = await _receipts_delivered(control, count, result.started_at, 120)
    finally:
        for process in processes:
            process.stop()
    return {
        "accepted": result.rate(202),
        "counted": count / counted_after,
        "receipts_delivered": count / delivered_after,
        "receipts": receipts,
        "statuses": {str(k): v for k, v in result.statuses.items()},
    }


async def measure_ballots(quick: bool) -> list[Figure]:
    """Alternating rounds of the ballots and the plain inbox (same actors), each after the client's
    ceiling; the median round shown, the range of the ratio over the rounds beside it."""
    count = 100 if quick else 1_000
    rounds = 1 if quick else BALLOT_ROUNDS
    sinks, control, ports = await start_sinks(1, workdir("decision-sinks"))
    results = []
    try:
        actors = make_actor_set(count, f"http://{LOOPBACK}:{ports[0]}")
        for round_ in range(rounds):
            result: dict = {}
            for which in ("ballots", "inbox") if round_ % 2 == 0 else ("inbox", "ballots"):
                if which == "ballots":
                    result["ballots"] = await run_ballots(actors, count, control, ports[0])
                else:
                    result["inbox"], requests = await run_node(
                        actors, count, count, f"decisions-{uuid.uuid4().hex[:8]}"
                    )
                    result["ceiling"] = (await ClientCeiling().measure(requests)).rate(202)
            ballots, inbox, receipts = result["ballots"], result["inbox"], result["ballots"]["receipts"]
            result["ratio"] = ballots["counted"] / inbox["processed"]
            results.append(result)
            print(
                f"   round {round_ + 1}: {count} ballots at once: accepted {ballots['accepted']:,.0f}/s,"
                f" counted {ballots['counted']:,.0f}/s {ballots['statuses']}; receipts delivered {receipts['total']}"
                f" ({ballots['receipts_delivered']:,.0f}/s, {receipts['verified']} signatures verified,"
                f" {receipts['failed']} failed); plain inbox processed {inbox['processed']:,.0f}/s;"
                f" client ceiling {result['ceiling']:,.0f}/s; ratio {result['ratio']:.2f}",
                flush=True,
            )
            if receipts["total"] < count or receipts["failed"]:
                raise RuntimeError(f"receipts: {receipts}")
    finally:
        sinks.stop()
    DETAILS.update(ballot_load=count, ballot_rounds=results)
    shown = sorted(results, key=lambda r: r["ratio"])[len(results) // 2]
    ceiling = statistics.median(r["ceiling"] for r in results)
    return [
        Figure(
            "decisions",
            f"a chapter counting {count:,} ballots on a decision copy (all counted)",
            shown["ballots"]["counted"],
            "ballots/s",
            f"inbox processed, {count:,} plain Creates, same round",
            shown["inbox"]["processed"],
            target=0.5,
            ratios=tuple(r["ratio"] for r in results),
            ceiling=ceiling,
        ),
        Figure(
            "decisions",
            f"... and every voter's receipt delivered (signed, {count:,} Notes)",
            shown["ballots"]["receipts_delivered"],
            "ballots/s",
            f"inbox processed, {count:,} plain Creates, same round",
            shown["inbox"]["processed"],
            ratios=tuple(r["ballots"]["receipts_delivered"] / r["inbox"]["processed"] for r in results),
            ceiling=ceiling,
        ),
    ]


async def measure_tallies(quick: bool) -> list[Figure]:
    chapters, rounds = (100, 2) if quick else (1000, 3)
    now = datetime.now(UTC)
    bodies = [chapter_bodies(n, 100, now) for n in range(chapters)]
    checked, parsed = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        decided = check_and_aggregate(bodies)
        checked.append(time.perf_counter() - began)
        began = time.perf_counter()
        parse_only(bodies)
        parsed.append(time.perf_counter() - began)
    DETAILS.update(
        chapters=chapters, ballots=chapters * 100, outcome=decided.status, check_seconds=checked, parse_seconds=parsed
    )
    check, parse = statistics.median(checked), statistics.median(parsed)
    print(
        f"   {chapters} tallies ({chapters * 100} ballots): checked and aggregated in {check:.2f} s, parsed in {parse:.2f} s"
    )
    return [
        Figure(
            "decisions",
            f"check + aggregate {chapters} chapter tallies ({chapters * 100} ballots)",
            check,
            "s",
            "parse the same tallies and leaves",
            parse,
            higher_is_better=False,
        )
    ]


async def measure(quick: bool) -> list[Figure]:
    return await measure_tallies(quick) + await measure_ballots(quick)


if __name__ == "__main__":
    run_standalone(measure)
