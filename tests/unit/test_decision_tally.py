"""Tallies and their leaves: what adds up, what a parent rejects, and a voter's receipt check."""

from __future__ import annotations

import secrets

import jcs
from hypothesis import given
from hypothesis import strategies as st

from node.decisions import tally

PROPOSAL = "https://intl.example/objects/p1"
CHAPTER = "https://b.example/users/b"
QUESTION = PROPOSAL


def _ballots(**choices: int) -> list[tuple[str, str]]:
    return [(secrets.token_hex(16), choice) for choice, n in choices.items() for _ in range(n)]


def _tally(ballots, roll: int) -> tuple[dict, list[dict]]:
    leaves = [tally.leaf(PROPOSAL, CHAPTER, receipt, QUESTION, choice) for receipt, choice in ballots]
    counts: dict[str, int] = {}
    for _receipt, choice in ballots:
        counts[choice] = counts.get(choice, 0) + 1
    document = {
        "proposal": PROPOSAL,
        "rollSize": roll,
        "voters": len(ballots),
        "participation": [tally.participation_tag(PROPOSAL, f"member{i}") for i in range(len(ballots))],
        "questions": [{"id": QUESTION, "counts": counts, "voters": len(ballots)}],
        "merkleRoot": tally.merkle_root(leaves),
    }
    return document, leaves


def test_an_honest_tally_adds_up_and_each_receipt_verifies():
    ballots = _ballots(agree=10, disagree=20)
    document, leaves = _tally(ballots, roll=50)
    assert tally.problems_with(document, leaves) == []
    receipt, choice = ballots[7]
    mine = tally.leaf(PROPOSAL, CHAPTER, receipt, QUESTION, choice)
    index = leaves.index(mine)
    proof = tally.inclusion_proof(leaves, index)
    assert tally.verify_receipt(mine, index, len(leaves), proof, document["merkleRoot"])
    other = tally.leaf(PROPOSAL, CHAPTER, receipt, QUESTION, "agree" if choice == "disagree" else "disagree")
    assert not tally.verify_receipt(other, index, len(leaves), proof, document["merkleRoot"])


def test_more_voters_than_the_roll_is_rejected():
    document, leaves = _tally(_ballots(agree=70), roll=50)
    assert any("exceed the roll" in problem for problem in tally.problems_with(document, leaves))


def test_claimed_counts_that_the_leaves_do_not_show_are_rejected():
    document, leaves = _tally(_ballots(agree=20, disagree=10), roll=50)
    document["questions"][0]["counts"]["agree"] = 30
    assert any("do not match the leaves" in problem for problem in tally.problems_with(document, leaves))


def test_changing_any_leaf_breaks_the_root():
    document, leaves = _tally(_ballots(agree=3, disagree=2), roll=10)
    for index in range(len(leaves)):
        changed = [dict(entry) for entry in leaves]
        changed[index]["commitment"] = "00" * 32
        assert "the Merkle root does not match the leaves" in tally.problems_with(document, changed)


def test_participation_tags_are_the_same_member_in_any_chapter_and_one_per_voter():
    assert tally.participation_tag(PROPOSAL, "m") == tally.participation_tag(PROPOSAL, "m")
    assert tally.participation_tag(PROPOSAL, "m") != tally.participation_tag(PROPOSAL + "2", "m")
    document, leaves = _tally(_ballots(agree=2), roll=5)
    document["participation"] = document["participation"][:1] * 2
    assert any("participation" in problem for problem in tally.problems_with(document, leaves))


@given(st.text(), st.text(), st.text())
def test_a_leaf_is_written_as_rfc8785_says_whatever_its_strings_hold(question, choice, commitment):
    entry = {"question": question, "choice": choice, "commitment": commitment}
    assert tally.leaf_bytes(entry) == jcs.canonicalize(entry)


def test_a_leaf_of_another_shape_is_still_canonical():
    entry = {"question": "q", "choice": "a", "commitment": "c", "extra": 1}
    assert tally.leaf_bytes(entry) == jcs.canonicalize(entry)
