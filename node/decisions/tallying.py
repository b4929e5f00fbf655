"""A chapter's tally: counts from its leaves, its roll, a Merkle root, signed with its Ed25519 key.

Built at the copy's ``endTime`` by the worker from what this node stored (never from what a
served document says): the leaves of counted ballots (``store.leaves``, in the order
published), counts and voters per question of the proposal, distinct voters of the whole
proposal, roll size and hash, the roll's participation tags with when each membership
began (epoch milliseconds) (the earlier membership wins a member on two rolls), the tags of the voters, the
RFC 9162 root over the leaves and the URL where anyone fetches the leaves.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from federation.proofs import add_proof
from node.core import vocabulary
from node.core.clock import iso
from node.core.keys import ActorKeys
from node.core.urls import Urls
from node.decisions import proposal, store
from node.decisions import tally as tallies


def leaf_of(row) -> dict:
    return {"question": row["question"], "choice": row["choice"], "commitment": row["commitment"]}


def leaves_url(copy_id: str) -> str:
    return f"{copy_id}/leaves"


async def tally_fields(conn: aiosqlite.Connection, document: dict, copy) -> dict:
    proposal_id = document["id"]
    rows = await store.leaves(conn, proposal_id)
    questions = []
    for question in proposal.questions_of(document):
        mine = [row for row in rows if row["question"] == question["id"]]
        counts = {name: sum(1 for row in mine if row["choice"] == name) for name in proposal.options_of(question)}
        questions.append({"id": question["id"], "counts": counts, "voters": len({row["voter"] for row in mine})})
    voters = sorted({row["voter"] for row in rows})
    roll = await store.roll_of(conn, proposal_id)
    return {
        "questions": questions,
        "voters": len(voters),
        "rollSize": copy["roll_size"],
        "rollHash": copy["roll_hash"],
        "rollTags": [[entry["tag"], int(entry["since"] * 1000)] for entry in roll],  # milliseconds: integers
        "participation": sorted(tallies.participation_tag(proposal_id, voter) for voter in voters),
        "merkleRoot": tallies.merkle_root([leaf_of(row) for row in rows]),
        "leaves": leaves_url(copy["copy_id"]),
    }


def sign(urls: Urls, keys: ActorKeys, document: dict, now: datetime) -> dict:
    return add_proof(
        document, private_key=keys.ed25519_private, verification_method=urls.ed25519_key_id(keys.username), created=now
    )


async def signed_tally(conn: aiosqlite.Connection, urls: Urls, keys: ActorKeys, document: dict, copy, now) -> dict:
    fields = await tally_fields(conn, document, copy)
    unsigned = vocabulary.decision_document(
        "DecisionTally", actor=urls.actor(keys.username), proposal=document["id"], published=iso(now), **fields
    )
    return sign(urls, keys, unsigned, now)
