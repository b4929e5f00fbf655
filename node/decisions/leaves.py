"""Anonymous ballot leaves: what a chapter publishes of its ballots, and how anyone recounts them.

Each voter on a chapter's copy gets one random **receipt** for the proposal, known only to
them. After the close the chapter publishes one **leaf** per voter:
``{"answers": {<proposal question id>: [<choice>, ...]}, "commitment": <hex>}``, where the
commitment is ``SHA-256("leaf" || proposal || chapter || receipt)`` (fields joined by a
newline) and each question's choices are sorted. A leaf names no voter; it joins one voter's
answers to a survey's questions, so the number of voters, whole and per question, is read
off the leaves like every count (:func:`recount`). The leaves are published in a canonical
order, sorted by commitment (never in arrival order), and encoded for the Merkle tree
(RFC 9162, :mod:`federation.merkle`) as JCS (RFC 8785).

A voter who holds the receipt computes their commitment, finds their leaf, and checks its
inclusion proof under the root the chapter signed. A leaf shows its choices, so a member
could also show their vote to someone else: for an organisation's internal decisions
checkability comes first, and the node never publishes who holds which receipt.

Nothing here trusts a claimed figure: :func:`recount` rejects a leaf of the wrong shape (an
unknown question or option, two choices on a ``oneOf``, a commitment twice, leaves out of
order), and :func:`claim_problems` compares every number a tally states with the recount.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from federation import merkle
from federation.canonical import canonicalize
from node.core.i18n import N_

#: No count, roll or voter figure of a decision is larger than this (a bound on what is received).
MAX_COUNT = 10_000_000
HEX64 = re.compile(r"[0-9a-f]{64}")


def commitment(proposal: str, chapter: str, receipt: str) -> str:
    """A voter's leaf commitment: only the holder of ``receipt`` can point at their leaf."""
    return hashlib.sha256("\n".join(("leaf", proposal, chapter, receipt)).encode()).hexdigest()


def leaf(proposal: str, chapter: str, receipt: str, answers: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    return {
        "answers": {question: sorted(set(choices)) for question, choices in sorted(answers.items())},
        "commitment": commitment(proposal, chapter, receipt),
    }


def canonical_order(leaves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(leaves, key=lambda entry: entry["commitment"])


def leaf_bytes(entry: Mapping[str, Any]) -> bytes:
    return canonicalize(dict(entry))


def merkle_root(leaves: Sequence[Mapping[str, Any]]) -> str:
    return merkle.root([leaf_bytes(entry) for entry in leaves]).hex()


def inclusion_proof(leaves: Sequence[Mapping[str, Any]], index: int) -> list[str]:
    return [step.hex() for step in merkle.inclusion_proof([leaf_bytes(entry) for entry in leaves], index)]


def verify_receipt(entry: Mapping[str, Any], index: int, size: int, proof: Sequence[str], root: str) -> bool:
    """A voter's check: their leaf is leaf ``index`` of ``size`` under the signed ``root``."""
    try:
        steps, expected = [bytes.fromhex(step) for step in proof], bytes.fromhex(root)
        return merkle.verify_inclusion(leaf_bytes(entry), index, size, steps, expected)
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Ballot:
    """What a proposal's question allows: its kind (``oneOf``/``anyOf``) and its option names."""

    kind: str
    options: tuple[str, ...]


@dataclass
class QuestionCount:
    counts: dict[str, int]
    voters: int = 0


@dataclass
class Recount:
    """The figures the leaves show: voters in all, and per question its counts and voters."""

    voters: int = 0
    questions: dict[str, QuestionCount] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "voters": self.voters,
            "questions": {qid: {"counts": q.counts, "voters": q.voters} for qid, q in self.questions.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recount:
        questions = {
            qid: QuestionCount(dict(q["counts"]), int(q["voters"])) for qid, q in (data.get("questions") or {}).items()
        }
        return cls(int(data.get("voters", 0)), questions)


class LeafError(ValueError):
    """A leaf that is not one of a valid ballot: the message says which and why (``message``: as a page
    shows it, translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _leaf_answers(entry: Any, ballots: Mapping[str, Ballot], index: int) -> tuple[str, dict[str, list[str]]]:
    if not isinstance(entry, dict) or set(entry) != {"answers", "commitment"}:
        raise LeafError(N_("leaf {index} is not {{answers, commitment}}", index=index))
    answers, digest = entry["answers"], entry["commitment"]
    if not isinstance(digest, str) or not HEX64.fullmatch(digest):
        raise LeafError(N_("leaf {index} has no SHA-256 commitment", index=index))
    if not isinstance(answers, dict) or not answers:
        raise LeafError(N_("leaf {index} answers nothing", index=index))
    for question, choices in answers.items():
        ballot = ballots.get(question)
        if ballot is None:
            raise LeafError(
                N_(
                    "leaf {index} answers {question}, no question of this proposal",
                    index=index,
                    question=repr(question),
                )
            )
        if not isinstance(choices, list) or not choices or len(set(map(str, choices))) != len(choices):
            raise LeafError(N_("leaf {index} has no distinct choices for {question}", index=index, question=question))
        if any(not isinstance(choice, str) or choice not in ballot.options for choice in choices):
            raise LeafError(
                N_("leaf {index} chooses an option {question} does not offer", index=index, question=question)
            )
        if ballot.kind == "oneOf" and len(choices) != 1:
            raise LeafError(
                N_("leaf {index} makes {count} choices on a one-choice question", index=index, count=len(choices))
            )
    return digest, answers


def recount(ballots: Mapping[str, Ballot], leaves: Sequence[Any]) -> Recount:
    """Recount ``leaves`` against the proposal's questions; :class:`LeafError` if any leaf is malformed."""
    if len(leaves) > MAX_COUNT:
        raise LeafError(N_("more than {count} leaves", count=MAX_COUNT))
    result = Recount(0, {qid: QuestionCount(dict.fromkeys(b.options, 0)) for qid, b in ballots.items()})
    previous = ""
    for index, entry in enumerate(leaves):
        digest, answers = _leaf_answers(entry, ballots, index)
        if digest <= previous:
            raise LeafError(
                N_(
                    "leaf {index} is out of order or repeats a commitment (leaves are sorted by commitment)",
                    index=index,
                )
            )
        previous = digest
        result.voters += 1
        for question, choices in answers.items():
            counted = result.questions[question]
            counted.voters += 1
            for choice in choices:
                counted.counts[choice] += 1
    return result


def _count(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value <= MAX_COUNT else None


def claim_problems(tally: Mapping[str, Any], counted: Recount) -> list[str]:
    """Every figure ``tally`` states that its leaves do not show (empty: it adds up)."""
    found: list[str] = []
    roll, voters = _count(tally.get("rollSize")), _count(tally.get("voters"))
    if roll is None or voters is None:
        return [N_("rollSize and voters must be whole numbers from 0 to {count}", count=MAX_COUNT)]
    if voters != counted.voters:
        found.append(N_("{claimed} voters claimed, the leaves show {counted}", claimed=voters, counted=counted.voters))
    if counted.voters > roll:
        found.append(N_("{counted} voters exceed the roll of {roll}", counted=counted.voters, roll=roll))
    stated = tally.get("questions")
    if not isinstance(stated, list) or len(stated) != len(counted.questions):
        return [*found, N_("the tally must state each of the {count} questions once", count=len(counted.questions))]
    seen: set[str] = set()
    for entry in stated:
        qid = entry.get("id") if isinstance(entry, dict) else None
        mine = counted.questions.get(qid) if isinstance(qid, str) and qid not in seen else None
        if mine is None or not isinstance(qid, str):
            found.append(N_("the tally states a question this proposal does not ask, or one twice: {id}", id=repr(qid)))
            continue
        seen.add(qid)
        claimed = entry.get("counts")
        if not isinstance(claimed, dict) or set(claimed) != set(mine.counts):
            found.append(N_("the counts of {id} must name each option once", id=qid))
        elif any(_count(n) is None for n in claimed.values()):
            found.append(N_("the counts of {id} must be whole numbers from 0 to {count}", id=qid, count=MAX_COUNT))
        elif claimed != mine.counts:
            found.append(
                N_(
                    "the counts of {id} do not match the leaves: {claimed} against {counted}",
                    id=qid,
                    claimed=str(claimed),
                    counted=str(mine.counts),
                )
            )
        if _count(entry.get("voters")) != mine.voters:
            found.append(N_("the voters of {id} do not match the leaves ({counted})", id=qid, counted=mine.voters))
    return found
