"""The tree's rules as pure functions, and the tree's documents fully defined by their @context."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from federation.jsonld import undefined_terms
from node.branches import documents as branch_documents
from node.branches import names, rules
from node.branches.reports import check_proof, report_time
from node.core.i18n import load_languages, message_from_json, message_json
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


def _branch(name: str, place: str | None = None) -> names.BranchName:
    return names.from_document(
        f"https://{name}.example/users/{name}", {"name": f"IOPS {name.title()}", "location": place}
    )


def test_no_cycles_and_one_parent():
    world, europe, americas = _branch("world", "Geneva"), _branch("europe", "Brussels"), _branch("americas")
    london, paris = _branch("london", "London"), _branch("paris")
    assert "cycle" in rules.cycle_refusal(world, london, [europe.id, world.id])
    assert rules.cycle_refusal(paris, london, [europe.id, world.id]) is None
    assert rules.cycle_refusal(london, london, []) is not None
    assert "own subtree" in rules.subtree_refusal(london, {london.id, paris.id})
    assert "at most one parent" in rules.second_parent_refusal(europe, "linked", americas)
    assert "already linked" in rules.second_parent_refusal(europe, "linked", europe)
    assert rules.second_parent_refusal(europe, "pending", europe) is None  # asking the same parent again
    assert rules.second_parent_refusal(None, None, europe) is None
    assert "at most one parent" in rules.other_parent_refusal(paris, americas)


def test_a_reason_names_branches_by_name_and_place_and_reads_in_chinese():
    zh = load_languages("en").by_code["zh_Hans"]
    world, london = _branch("world", "Geneva"), _branch("london", "London")
    reason = rules.cycle_refusal(world, london, [world.id])
    assert reason == "IOPS World (Geneva) is an ancestor of IOPS London (London): linking it below would make a cycle"
    assert world.id not in reason and london.id not in reason
    assert zh.gettext(reason) == "IOPS World（Geneva） 位于 IOPS London（London） 的上层：把它连接到下面会形成循环"
    stored = message_from_json(message_json(reason), str(reason))  # as the branch_links row keeps it
    assert zh.gettext(stored) == zh.gettext(reason)
    assert "IOPS Americas" in rules.second_parent_refusal(_branch("americas"), "pending", world)  # no place: the name
    level = rules.level_refusal("region", "chapter", allow_skipping=True)
    assert level == "a region cannot be linked below a chapter: a parent must be of a higher level"
    assert zh.gettext(level) == "地区不能连接到分会之下：上级的层级必须更高"


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
