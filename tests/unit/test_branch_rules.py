"""The tree's rules as pure functions, and the tree's documents fully defined by their @context."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from federation.jsonld import undefined_terms
from node.branches import documents as branch_documents
from node.branches import rules
from node.branches.reports import check_proof, report_time
from node.core.urls import Urls


@pytest.mark.parametrize(
    ("child", "parent", "skipping", "refused"),
    [
        ("chapter", "region", False, False),
        ("chapter", "nation", True, False),
        ("chapter", "nation", False, True),
        ("region", "region", True, True),
        ("nation", "region", True, True),
        ("international", "chapter", True, True),
        ("city", "region", True, True),
    ],
)
def test_a_parent_is_of_a_higher_level(child, parent, skipping, refused):
    assert (rules.level_refusal(child, parent, allow_skipping=skipping) is not None) is refused


def test_no_cycles_and_one_parent():
    assert "cycle" in rules.cycle_refusal("world", "london", ["europe", "world"])
    assert rules.cycle_refusal("paris", "london", ["europe", "world"]) is None
    assert rules.cycle_refusal("london", "london", []) is not None
    assert "own subtree" in rules.subtree_refusal("london", {"london", "paris"})
    assert "at most one parent" in rules.second_parent_refusal("europe", "linked", "americas")
    assert "already linked" in rules.second_parent_refusal("europe", "linked", "europe")
    assert rules.second_parent_refusal("europe", "pending", "europe") is None  # asking the same parent again
    assert rules.second_parent_refusal(None, None, "europe") is None


def test_the_tree_documents_use_only_defined_terms():
    urls = Urls("https://london.example")
    now = datetime.now(UTC)
    report = branch_documents.branch_report(
        actor=urls.actor("london"),
        published=report_time(now),
        facts={
            "level": "chapter",
            "name": "London",
            "location": "London",
            "founded": "2021-03-14",
            "memberCount": 12,
            "parent": "https://europe.example/users/europe",
            "linked": report_time(now),
        },
    )
    assert undefined_terms(report) == []
    add = branch_documents.report_delivery(
        urls,
        actor=urls.actor("london"),
        report=report,
        now=now,
        target="https://europe.example/users/europe/children",
        to="https://europe.example/users/europe",
    )
    assert add["object"] == report and undefined_terms(add) == []
    announce = branch_documents.relay_announce(
        urls,
        actor=urls.actor("london"),
        relayed="https://paris.example/objects/1",
        key="https://paris.example/objects/1",
        now=now,
        followers=urls.followers("london"),
        audience="https://paris.example/users/p",
    )
    assert undefined_terms(announce) == [] and announce["id"] == urls.relayed_activity_id(
        "Announce", "https://paris.example/objects/1"
    )


async def test_a_report_without_a_proof_or_count_is_refused_before_any_fetch():
    urls = Urls("https://london.example")
    report = branch_documents.branch_report(
        actor=urls.actor("london"), facts={"memberCount": -1}, published=report_time(datetime.now(UTC))
    )
    check = await check_proof(None, report, datetime.now(UTC))  # no network needed to refuse it
    assert "memberCount" in check.error
    del report["memberCount"]
    assert "memberCount" in (await check_proof(None, report, datetime.now(UTC))).error
    report["memberCount"] = 3
    assert "no proof" in (await check_proof(None, report, datetime.now(UTC))).error
