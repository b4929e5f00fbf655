"""This chapter's signed tally and roll: built by the worker from what this node stored, signed with its Ed25519 key.

:func:`signed_roll`: the frozen roll's commitments and days (``rolls``), sent up when the
copy is published. :func:`signed_tally`: at ``endTime``, one leaf per voter still on the roll
(``leaves``), in canonical order, and the figures read off those leaves: per question its
counts and voters, voters in all; the roll less the members the issuer's exclusions count
elsewhere (``rollSize``), which exclusions were applied (``exclusions``, their sequence, 0
for none, and ``excludedMembers``), the RFC 9162 root over the leaves and the URL where
anyone fetches them after the close. Never built from what a served document says, and
never carrying anything per voter: the leaves name no one, and the tally no tag.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from federation.proofs import add_proof
from node.core.clock import iso
from node.core.db import Connection
from node.core.keys import ActorKeys
from node.core.urls import Urls
from node.decisions import copy_store, documents, leaves, proposal, received, rolls


def leaves_url(copy_id: str) -> str:
    return f"{copy_id}/leaves"


def sign(urls: Urls, keys: ActorKeys, document: dict, now: datetime) -> dict:
    return add_proof(
        document, private_key=keys.ed25519_private, verification_method=urls.ed25519_key_id(keys.username), created=now
    )


async def signed_roll(conn: Connection, urls: Urls, keys: ActorKeys, copy, now: datetime) -> dict:
    entries = await copy_store.roll_entries(conn, copy["proposal_id"])
    unsigned = documents.decision_document(
        "DecisionRoll",
        actor=urls.actor(keys.username),
        proposal=copy["proposal_id"],
        published=iso(now),
        rollSize=len(entries),
        commitments=[list(entry) for entry in entries],
        rollHash=rolls.roll_hash(entries),
    )
    return sign(urls, keys, unsigned, now)


async def chapter_leaves(conn: Connection, chapter_id: str, proposal_id: str) -> list[dict]:
    """One leaf per voter still on the roll, in canonical order."""
    answers: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in await copy_store.counted_ballots(conn, proposal_id):
        answers[row["receipt"]][row["question"]].append(row["choice"])
    return leaves.canonical_order(
        [leaves.leaf(proposal_id, chapter_id, receipt, given) for receipt, given in answers.items()]
    )


async def tally_fields(conn: Connection, chapter_id: str, document: dict, copy) -> tuple[dict, list[dict]]:
    """(the tally's fields, its leaves) as this node stored them now."""
    proposal_id = document["id"]
    made = await chapter_leaves(conn, chapter_id, proposal_id)
    counted = leaves.recount(proposal.ballots_of(document), made)
    latest = await received.exclusions(conn, proposal_id)
    excluded = await copy_store.excluded_count(conn, proposal_id)
    fields = {
        "questions": [{"id": qid, "counts": q.counts, "voters": q.voters} for qid, q in counted.questions.items()],
        "voters": counted.voters,
        "rollSize": copy["roll_size"] - excluded,
        "exclusions": latest["sequence"] if latest else 0,
        "excludedMembers": excluded,
        "merkleRoot": leaves.merkle_root(made),
        "leaves": leaves_url(copy["copy_id"]),
    }
    return fields, made


async def signed_tally(
    conn: Connection, urls: Urls, keys: ActorKeys, document: dict, copy, now
) -> tuple[dict, list[dict]]:
    actor = urls.actor(keys.username)
    fields, made = await tally_fields(conn, actor, document, copy)
    unsigned = documents.decision_document(
        "DecisionTally", actor=actor, proposal=document["id"], published=iso(now), **fields
    )
    return sign(urls, keys, unsigned, now), made
