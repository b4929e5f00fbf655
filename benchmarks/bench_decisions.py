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
each, measured by the inbox bench). Run: ``python -m benchmarks.bench_decisions [--quick]``.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ed25519

from benchmarks.report import Figure, run_standalone
from federation.proofs import add_proof, verify_proof
from node.core import vocabulary
from node.decisions import outcome
from node.decisions import tally as tallies

PROPOSAL = "https://world.example/objects/proposal"
OPTIONS = ("agree", "abstain", "disagree", "block")
DETAILS: dict = {}


def chapter_bodies(number: int, members: int, now: datetime) -> tuple[bytes, bytes, ed25519.Ed25519PublicKey]:
    chapter = f"https://chapter{number}.example/users/c{number}"
    key = ed25519.Ed25519PrivateKey.generate()
    voters = [f"https://members.example/users/m{number}-{n}" for n in range(members)]
    leaves = [tallies.leaf(PROPOSAL, chapter, f"{number}-{n:040x}", PROPOSAL, OPTIONS[n % 4]) for n in range(members)]
    counts = {name: sum(1 for leaf in leaves if leaf["choice"] == name) for name in OPTIONS}
    document = vocabulary.decision_document(
        "DecisionTally",
        actor=chapter,
        proposal=PROPOSAL,
        published="2030-01-01T00:00:00Z",
        questions=[{"id": PROPOSAL, "counts": counts, "voters": members}],
        voters=members,
        rollSize=members,
        rollHash=tallies.roll_hash(PROPOSAL, voters),
        rollTags=[[tallies.participation_tag(PROPOSAL, v), 0] for v in voters],
        participation=sorted(tallies.participation_tag(PROPOSAL, v) for v in voters),
        merkleRoot=tallies.merkle_root(leaves),
        leaves=f"{chapter}/leaves",
    )
    signed = add_proof(document, private_key=key, verification_method=f"{chapter}#ed25519-key", created=now)
    return json.dumps(signed).encode(), json.dumps({"orderedItems": leaves}).encode(), key.public_key()


def check_and_aggregate(bodies: list[tuple[bytes, bytes, ed25519.Ed25519PublicKey]]) -> outcome.Outcome:
    seen: set[str] = set()
    rows = []
    for tally_body, leaves_body, key in bodies:
        tally = json.loads(tally_body)
        leaves = json.loads(leaves_body)["orderedItems"]
        verify_proof(tally, key)
        problems = tallies.problems_with(tally, leaves)
        tags = {tag for tag, _ in tally["rollTags"]}
        if problems or seen & tags:
            raise AssertionError(problems or "a shared tag")
        seen |= tags
        question = tally["questions"][0]
        rows.append(
            outcome.ChapterTally(
                tally["attributedTo"], tally["rollSize"], (), True, question["voters"], question["counts"]
            )
        )
    policy = outcome.Policy(pass_threshold=0.5, block_share=0.3, turnout_quorum=0.25)
    return outcome.decide(policy, rows)


def parse_only(bodies) -> int:
    return sum(len(json.loads(t)) + len(json.loads(leaves)["orderedItems"]) for t, leaves, _ in bodies)


async def measure(quick: bool) -> list[Figure]:
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


if __name__ == "__main__":
    run_standalone(measure)
