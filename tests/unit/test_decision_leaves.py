"""Leaves and rolls, as every level checks them: the recount, the claims, the receipts, the shared members."""

from __future__ import annotations

import hashlib
import secrets

import jcs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.decisions import leaves, rolls
from node.decisions.leaves import Ballot

PROPOSAL = "https://intl.example/objects/p1"
CHAPTER = "https://b.example/users/b"
Q1, Q2 = PROPOSAL, "https://intl.example/objects/q2"
BALLOTS = {Q1: Ballot("oneOf", ("agree", "disagree", "block")), Q2: Ballot("anyOf", ("A", "B", "C"))}


def _leaves(answers: list[dict]) -> list[dict]:
    return leaves.canonical_order([leaves.leaf(PROPOSAL, CHAPTER, secrets.token_hex(16), a) for a in answers])


def _tally(made: list[dict], roll: int) -> dict:
    counted = leaves.recount(BALLOTS, made)
    return {
        "rollSize": roll,
        "voters": counted.voters,
        "questions": [{"id": q, "counts": dict(c.counts), "voters": c.voters} for q, c in counted.questions.items()],
        "merkleRoot": leaves.merkle_root(made),
    }


def test_a_recount_reads_voters_and_counts_off_the_leaves():
    made = _leaves([{Q1: ["agree"], Q2: ["A", "B"]}, {Q1: ["agree"]}, {Q2: ["C"]}, {Q1: ["block"], Q2: ["A"]}])
    counted = leaves.recount(BALLOTS, made)
    assert counted.voters == 4
    assert counted.questions[Q1].counts == {"agree": 2, "disagree": 0, "block": 1} and counted.questions[Q1].voters == 3
    assert counted.questions[Q2].counts == {"A": 2, "B": 1, "C": 1} and counted.questions[Q2].voters == 3
    assert leaves.claim_problems(_tally(made, roll=4), counted) == []


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"answers": {Q1: ["maybe"]}}, "does not offer"),
        ({"answers": {"https://elsewhere/q": ["agree"]}}, "no question of this proposal"),
        ({"answers": {Q1: ["agree", "disagree"]}}, "one-choice question"),
        ({"answers": {Q2: ["A", "A"]}}, "distinct"),
        ({"answers": {Q1: [None]}}, "does not offer"),
        ({"answers": {}}, "answers nothing"),
        ({"answers": {Q1: ["agree"]}, "voter": "https://m.example/users/me"}, "is not {answers, commitment}"),
        ({"answers": {Q1: ["agree"]}, "commitment": "xyz"}, "no SHA-256 commitment"),
    ],
)
def test_a_malformed_leaf_is_refused_with_the_reason(bad, why):
    entry = {"commitment": "ab" * 32, **bad}
    with pytest.raises(leaves.LeafError, match=why):
        leaves.recount(BALLOTS, [entry])


def test_leaves_out_of_canonical_order_or_repeated_are_refused():
    made = _leaves([{Q1: ["agree"]}, {Q1: ["disagree"]}])
    with pytest.raises(leaves.LeafError, match="out of order"):
        leaves.recount(BALLOTS, list(reversed(made)))
    with pytest.raises(leaves.LeafError, match="repeats"):
        leaves.recount(BALLOTS, [made[0], made[0]])


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda t: t.update(voters=70), "70 voters claimed, the leaves show 3"),
        (lambda t: t.update(rollSize=2), "3 voters exceed the roll of 2"),
        (lambda t: t.update(rollSize=2**64 - 1), "whole numbers"),
        (lambda t: t["questions"][0]["counts"].update(agree=3), "do not match the leaves"),
        (lambda t: t["questions"][0]["counts"].update(agree=None), "whole numbers"),
        (lambda t: t["questions"][0]["counts"].update(agree=-1), "whole numbers"),
        (lambda t: t["questions"][0]["counts"].update(other=0), "name each option once"),
        (lambda t: t["questions"][0].update(voters=9), "voters of"),
        (lambda t: t["questions"].pop(), "each of the 2 questions"),
        (lambda t: t["questions"].__setitem__(1, dict(t["questions"][0])), "or one twice"),
    ],
)
def test_every_stated_figure_is_compared_with_the_recount(change, why):
    made = _leaves([{Q1: ["agree"], Q2: ["A"]}, {Q1: ["agree"]}, {Q1: ["disagree"]}])
    tally = _tally(made, roll=5)
    change(tally)
    problems = leaves.claim_problems(tally, leaves.recount(BALLOTS, made))
    assert any(why in p for p in problems), problems


def test_each_receipt_finds_its_leaf_and_verifies_and_a_changed_leaf_does_not():
    receipts = [secrets.token_hex(16) for _ in range(7)]
    made = leaves.canonical_order([leaves.leaf(PROPOSAL, CHAPTER, r, {Q1: ["agree"]}) for r in receipts])
    root = leaves.merkle_root(made)
    for receipt in receipts:
        mine = leaves.commitment(PROPOSAL, CHAPTER, receipt)
        index = next(i for i, e in enumerate(made) if e["commitment"] == mine)
        proof = leaves.inclusion_proof(made, index)
        assert leaves.verify_receipt(made[index], index, len(made), proof, root)
        assert not leaves.verify_receipt({**made[index], "answers": {Q1: ["block"]}}, index, len(made), proof, root)
    # the commitment is this voter's only: another chapter, proposal or receipt gives another
    assert leaves.commitment(PROPOSAL, CHAPTER, receipts[0]) != leaves.commitment(PROPOSAL, CHAPTER + "x", receipts[0])


def test_the_root_is_rfc9162_over_the_jcs_bytes_of_each_leaf():
    """Written out by hand (RFC 9162 §2.1.1), not with the code under test."""
    made = _leaves([{Q1: ["agree"]}, {Q1: ["block"]}, {Q2: ["B", "A"]}])
    hashed = [hashlib.sha256(b"\x00" + jcs.canonicalize(entry)).digest() for entry in made]
    left = hashlib.sha256(b"\x01" + hashed[0] + hashed[1]).digest()
    expected = hashlib.sha256(b"\x01" + left + hashed[2]).hexdigest()
    assert leaves.merkle_root(made) == expected


@given(
    st.dictionaries(st.text(min_size=1), st.lists(st.text(), min_size=1, max_size=3), min_size=1, max_size=3),
    st.text(min_size=1),
)
def test_a_leaf_is_written_as_rfc8785_says_whatever_its_strings_hold(answers, receipt):
    entry = leaves.leaf(PROPOSAL, CHAPTER, receipt, answers)
    assert leaves.leaf_bytes(entry) == jcs.canonicalize(entry)


def test_a_roll_names_no_member_and_its_days_are_coarse():
    members = [("https://m.example/users/ann", 1_700_000_123.5), ("https://m.example/users/bo", 1_700_090_000.0)]
    fields, by_member = rolls.roll_fields(PROPOSAL, members)
    assert fields["rollSize"] == 2 and "ann" not in str(fields)
    assert sorted(day for _, day in fields["commitments"]) == [1_700_000_123 // 86400, 1_700_090_000 // 86400]
    assert by_member["https://m.example/users/ann"] == rolls.member_commitment(PROPOSAL, "https://m.example/users/ann")
    assert rolls.entries_of(fields) == [tuple(e) for e in fields["commitments"]]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda r: r.update(rollSize=3), "lists rollSize"),
        (lambda r: r["commitments"].reverse(), "sorted by commitment"),
        (lambda r: r["commitments"][0].__setitem__(1, -4), "day number"),
        (lambda r: r["commitments"][0].__setitem__(0, "nothex"), "SHA-256"),
        (lambda r: r.update(rollHash="00"), "rollHash"),
    ],
)
def test_a_malformed_roll_is_refused(change, why):
    fields, _ = rolls.roll_fields(PROPOSAL, [("https://m.example/users/a", 0.0), ("https://m.example/users/b", 0.0)])
    change(fields)
    assert why in rolls.entries_of(fields)


def test_a_shared_member_stays_where_the_membership_began_first_and_nowhere_else():
    entries = [("c1", "https://a", 100), ("c1", "https://b", 90), ("c1", "https://c", 95), ("c2", "https://a", 5)]
    entries += [("c3", "https://b", 7), ("c3", "https://a", 7)]  # same day: the smaller chapter id keeps it
    assert rolls.resolve(entries) == {"https://a": ["c1"], "https://b": ["c3"], "https://c": ["c1"]}
    assert rolls.resolve([("c9", "https://a", 1)]) == {}


def test_a_roll_received_after_the_close_loses_every_contest():
    """So that the exclusions of the rolls in time are final at the close, whatever a late roll claims."""
    entries = [("c1", "https://early", 500, False), ("c1", "https://late", 0, True), ("c2", "https://late", 3, True)]
    entries += [("c2", "https://other-late", 1, True)]
    assert rolls.resolve(entries) == {"https://late": ["c1", "c2"]}


def test_a_roll_may_exceed_the_last_report_only_by_the_members_who_joined_since():
    assert rolls.allowance(0) == 5 and rolls.allowance(100) == 110 and rolls.allowance(10_000) == 11_000
