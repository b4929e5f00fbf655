"""A chapter's tally, its anonymous ballot leaves, and the checks every level makes of them.

Each counted ballot gets a random **receipt**, known only to its voter. The chapter publishes
one **leaf** per counted choice: the question, the choice, and a commitment
``SHA-256(proposal || chapter || receipt || question || choice)`` (fields joined by a
newline), so the leaves can be recounted by anyone, and a voter who holds the receipt finds
their own leaf and its inclusion proof under the tally's Merkle root (RFC 9162, see
:mod:`federation.merkle`). Leaves are encoded for the tree as JCS (RFC 8785) of the leaf
object, in the order the chapter published them.

A leaf shows its choice, so a member can check their vote, and could also show it to
someone else. For an organisation's internal decisions checkability comes first; the node
never publishes who holds which receipt.

:func:`problems_with` lists what is wrong with a tally against its leaves (counts that do
not match the leaves, a root that does not match, more voters than the roll, participation
tags that do not match the voters); an empty list means it adds up.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from federation import merkle
from federation.canonical import canonicalize

#: JSON's minimal string escaping, in C (what RFC 8785 asks of strings).
_QUOTE = json.encoder.encode_basestring


def commitment(proposal: str, chapter: str, receipt: str, question: str, choice: str) -> str:
    joined = "\n".join((proposal, chapter, receipt, question, choice))
    return hashlib.sha256(joined.encode()).hexdigest()


def leaf(proposal: str, chapter: str, receipt: str, question: str, choice: str) -> dict[str, str]:
    return {
        "question": question,
        "choice": choice,
        "commitment": commitment(proposal, chapter, receipt, question, choice),
    }


def leaf_bytes(entry: Mapping[str, Any]) -> bytes:
    """The JCS bytes of a leaf. A leaf as this house makes it (three strings) is written directly,
    its keys in JCS order, with JSON's minimal escaping (a big tally hashes 100,000 of them);
    anything else, or a string that cannot be UTF-8 (a lone surrogate), goes to ``canonicalize``."""
    if len(entry) == 3:
        choice, commitment_, question = entry.get("choice"), entry.get("commitment"), entry.get("question")
        if type(choice) is str and type(commitment_) is str and type(question) is str:
            text = f'{{"choice":{_QUOTE(choice)},"commitment":{_QUOTE(commitment_)},"question":{_QUOTE(question)}}}'
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                pass
    return canonicalize(dict(entry))


def merkle_root(leaves: Sequence[Mapping[str, Any]]) -> str:
    return merkle.root([leaf_bytes(entry) for entry in leaves]).hex()


def inclusion_proof(leaves: Sequence[Mapping[str, Any]], index: int) -> list[str]:
    return [step.hex() for step in merkle.inclusion_proof([leaf_bytes(entry) for entry in leaves], index)]


def verify_receipt(entry: Mapping[str, Any], index: int, size: int, proof: Sequence[str], root: str) -> bool:
    """A voter's check: their leaf is leaf ``index`` under the signed ``root``."""
    try:
        steps, expected = [bytes.fromhex(step) for step in proof], bytes.fromhex(root)
    except (TypeError, ValueError):
        return False
    return merkle.verify_inclusion(leaf_bytes(entry), index, size, steps, expected)


def roll_hash(proposal: str, member_ids: Sequence[str]) -> str:
    """A commitment to the frozen roll: the sorted member ids under the proposal's id."""
    return hashlib.sha256("\n".join([proposal, *sorted(member_ids)]).encode()).hexdigest()


def participation_tag(proposal: str, member_id: str) -> str:
    """The same member gives the same tag in every chapter: the first level that sees two catches it."""
    return hashlib.sha256(f"{proposal}\n{member_id}".encode()).hexdigest()


def recount(leaves: Sequence[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for entry in leaves:
        question = str(entry.get("question"))
        found = counts.get(question)
        if found is None:
            found = counts[question] = Counter()
        found[str(entry.get("choice"))] += 1
    return counts


def problems_with(tally: Mapping[str, Any], leaves: Sequence[Mapping[str, Any]]) -> list[str]:
    """What does not add up in ``tally`` (as signed) against the ``leaves`` it points to."""
    found: list[str] = []
    roll, voters = tally.get("rollSize"), tally.get("voters")
    if not isinstance(roll, int) or not isinstance(voters, int) or roll < 0 or voters < 0:
        return ["rollSize and voters must be whole numbers"]
    if voters > roll:
        found.append(f"{voters} voters exceed the roll of {roll}")
    tags = tally.get("participation")
    if not isinstance(tags, list) or len(set(tags)) != len(tags) or len(tags) != voters:
        found.append("participation tags must be one per voter, none twice")
    if tally.get("merkleRoot") != merkle_root(leaves):
        found.append("the Merkle root does not match the leaves")
    recounted = recount(leaves)
    for question in tally.get("questions") or []:
        claimed = {name: n for name, n in (question.get("counts") or {}).items() if n}
        actual = dict(recounted.get(str(question.get("id")), Counter()))
        if claimed != actual:
            found.append(f"the counts of {question.get('id')} do not match the leaves: {claimed} against {actual}")
        if isinstance(question.get("voters"), int) and question["voters"] > voters:
            found.append(f"{question.get('id')} has more voters than the proposal")
    return found
