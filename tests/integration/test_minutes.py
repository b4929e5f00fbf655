"""Minutes: a structured record served as an Article, announced to followers as a Note.

The follower is a bovine peer (an independent ActivityPub implementation in its own process):
it verifies the signature of every Create, Update and Delete the chapter sends it.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace

import aiohttp
import pytest

from federation.jsonld import undefined_terms
from node.content import minutes
from tests.support.c2s import eventually, get_json, publish
from tests.support.tree import host_of, link, tree_config, wait_linked

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

MINUTES = {
    "type": "Minutes",
    "name": "General meeting, November",
    "meetingDate": "2026-11-20",
    "location": {"type": "Place", "name": "Central Library", "address": "1 High Street, London"},
    "attendees": ["Ada", "Grace", "https://example.social/users/linus"],
    "agenda": ["Book fair", "Winter march", "Any other business"],
    "decisions": [
        {"text": "Hold the book fair on 5 December", "vote": "https://example.social/questions/1"},
        {"text": "Join the winter march"},
    ],
    "content": "<p>Tea was <em>excellent</em>.</p><script>alert(1)</script>",
}


async def _followed_by_bovine(node, bovine_peer):
    alice = await bovine_peer("alice")
    followed = await alice.follow(node.actor_id)
    assert followed["status"] == 202, followed
    await alice.wait_for(lambda e: e["activity"]["type"] == "Accept")
    return alice


async def test_minutes_round_trip_article_announced_as_note_edited_and_deleted(make_node, bovine_peer):
    london = await make_node("london")
    alice = await _followed_by_bovine(london, bovine_peer)

    # --- published: the Article at its id, with the structure in our terms -----------------
    status, result, location = await publish(london, MINUTES)
    assert status == 201, result
    article_id = result["object"]
    status, article = await get_json(article_id)
    assert status == 200, article
    assert article["type"] == "Article" and article["postKind"] == "minutes"
    assert article["name"] == "General meeting, November"
    assert article["meetingDate"] == "2026-11-20"
    assert article["location"] == {
        "type": "Place",
        "name": "Central Library",
        "address": {"type": "PostalAddress", "streetAddress": "1 High Street, London"},
    }
    assert article["attendees"] == MINUTES["attendees"]
    assert article["agenda"] == MINUTES["agenda"]
    assert article["decisions"] == [
        {"type": "Decision", "name": "Hold the book fair on 5 December", "vote": "https://example.social/questions/1"},
        {"type": "Decision", "name": "Join the winter march"},
    ]
    assert "Hold the book fair on 5 December" in article["content"] and "<ol>" in article["content"]
    assert '<a href="https://example.social/questions/1"' in article["content"]
    assert "<em>excellent</em>" in article["content"] and "script" not in article["content"]
    assert article["to"] == [PUBLIC] and article["url"] == article_id
    assert undefined_terms(article) == []

    # the structure is stored as such: which minutes cite this vote?
    assert await minutes.citing_vote(london.db.reader, "https://example.social/questions/1") == [article_id]

    # --- announced to the follower as Create(Note) that links to the Article ---------------
    create = await alice.wait_for(lambda e: e["activity"]["type"] == "Create")
    assert create["verified"] is True, create["error"]
    assert create["signer"] == london.actor_id and create["activity"]["id"] == location
    note = create["activity"]["object"]
    assert note["type"] == "Note" and note["attributedTo"] == london.actor_id
    assert "General meeting, November" in note["content"] and "2026-11-20" not in note["content"]
    assert "Meeting of November 20, 2026 at Central Library (1 High Street, London): 3 attendees" in note["content"]
    assert "2 decisions" in note["content"] and f'href="{article_id}"' in note["content"]
    assert note["meetingDate"] == "2026-11-20"  # a page showing the announcement writes it for its reader
    assert note["url"] == article_id
    status, served_note = await get_json(note["id"])
    assert status == 200 and served_note["content"] == note["content"]
    assert undefined_terms(served_note) == []
    assert undefined_terms(create["activity"] | {"@context": served_note["@context"]}) == []

    # --- edited: both objects change, Update(Note) delivered -------------------------------
    status, result, _ = await publish(
        london,
        {
            "type": "Update",
            "object": {
                "id": article_id,
                "decisions": [*MINUTES["decisions"], {"text": "Buy a new banner"}],
                "attendees": ["Ada", "Grace"],
            },
        },
    )
    assert status == 201, result
    update = await alice.wait_for(lambda e: e["activity"]["type"] == "Update")
    assert update["verified"] is True, update["error"]
    assert update["activity"]["object"]["id"] == note["id"]
    assert "3 decisions" in update["activity"]["object"]["content"]
    assert update["activity"]["object"]["updated"]
    _, article = await get_json(article_id)
    assert article["updated"] and article["attendees"] == ["Ada", "Grace"]
    assert [d["name"] for d in article["decisions"]][-1] == "Buy a new banner"
    assert "Buy a new banner" in article["content"]
    assert article["published"] < article["updated"] or article["published"] == article["updated"]
    _, served_note = await get_json(note["id"])
    assert "3 decisions" in served_note["content"] and served_note["updated"]

    # --- deleted: both answer 410 with a Tombstone, Delete(Note) delivered ----------------
    status, result, _ = await publish(london, {"type": "Delete", "object": article_id})
    assert status == 201, result
    delete = await alice.wait_for(lambda e: e["activity"]["type"] == "Delete")
    assert delete["verified"] is True, delete["error"]
    assert delete["activity"]["object"]["id"] == note["id"]
    for gone in (article_id, note["id"]):
        status, tombstone = await get_json(gone)
        assert status == 410 and tombstone["type"] == "Tombstone", tombstone
    assert await minutes.get(london.db.reader, article_id) is None
    status, body, _ = await publish(london, {"type": "Update", "object": {"id": note["id"], "name": "again"}})
    assert status == 410, body


async def test_deleting_the_announcement_deletes_the_minutes_too(make_node):
    london = await make_node("london")
    _, result, location = await publish(london, MINUTES)
    _, create = await get_json(location)
    status, body, _ = await publish(london, {"type": "Delete", "object": create["object"]["id"]})
    assert status == 201, body
    assert (await get_json(result["object"]))[0] == 410


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"meetingDate": "20 November"}, "meetingDate"),
        ({"decisions": "all of them"}, "decisions"),
        ({"decisions": [{"text": "x", "vote": "javascript:alert(1)"}]}, "vote"),
        ({"attendees": [1, 2]}, "attendees"),
        ({"name": ""}, "name"),
        ({"location": {"type": "Place"}}, "location.name"),
    ],
)
async def test_bad_minutes_are_refused_with_the_reason(make_node, change, reason):
    london = await make_node("london", start_workers=False)
    status, body, _ = await publish(london, {**MINUTES, **change})
    assert status == 400, body
    assert reason in body["error"]


async def test_minutes_need_a_meeting_date_and_a_local_vote_must_be_a_question(make_node):
    london = await make_node("london", start_workers=False)
    status, body, _ = await publish(london, {"type": "Minutes", "name": "No date"})
    assert status == 400 and "meetingDate" in body["error"]
    _, note, _ = await publish(london, {"type": "Note", "content": "<p>not a poll</p>"})
    status, body, _ = await publish(london, {**MINUTES, "decisions": [{"text": "x", "vote": note["object"]}]})
    assert status == 422 and "Question" in body["error"], body


async def test_an_update_with_unknown_fields_is_refused_and_one_that_changes_nothing_accepted(make_node):
    london = await make_node("london", start_workers=False)
    _, result, _ = await publish(london, MINUTES)
    status, body, _ = await publish(london, {"type": "Update", "object": {"id": result["object"], "colour": "red"}})
    assert status == 400 and "colour" in body["error"]
    status, body, _ = await publish(
        london, {"type": "Update", "object": {"id": result["object"], "name": MINUTES["name"]}}
    )
    assert status == 201 and body["type"] == "Update", body  # issue 10: an Update that changes nothing is no error


def _seen(page: str) -> str:
    """What a reader sees of a page: its text, tags and layout aside."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


async def _home(node, language: str) -> str:
    headers = {"Accept": "text/html", "Accept-Language": language}
    async with aiohttp.ClientSession() as session, session.get(f"{node.base_url}/", headers=headers) as response:
        assert response.status == 200
        return _seen(await response.text())


async def test_a_chapter_writes_its_minutes_in_its_language_and_its_region_dates_them_for_the_reader(
    make_node, tmp_path
):
    """A chapter whose language is Chinese announces its minutes in Chinese, the meeting date as Chinese
    writes it; on its region's home page the relayed minutes show the date written for each reader,
    never as an ISO date."""
    chapter = tree_config(tmp_path, "shanghai", "chapter")
    chapter = replace(chapter, node=replace(chapter.node, language="zh_Hans"))
    asia = await make_node(
        config=tree_config(tmp_path, "asia", "region", accept_children_from=(host_of(chapter.node),))
    )
    shanghai = await make_node(config=chapter)
    assert (await link(shanghai, asia))[0] == 201
    await wait_linked(shanghai, asia)
    status, result, _ = await publish(shanghai, {**MINUTES, "meetingDate": "2026-12-07"})
    assert status == 201, result
    _, article = await get_json(result["object"])
    assert (
        article["summary"].startswith("2026年12月7日在Central Library")
        and "3 名出席者，2 项决定。" in article["summary"]
    )
    assert "2026-12-07" not in article["summary"] + article["content"] and "出席者：" in article["content"]
    note_id = (await minutes.get(shanghai.db.reader, article["id"])).note_id
    _, note = await get_json(note_id)
    assert "会议纪要：General meeting, November" in note["content"] and "阅读完整的会议纪要" in note["content"]
    assert "2026年12月7日在Central Library" in note["content"] and "2026-12-07" not in note["content"]
    assert note["contentMap"].keys() == {"zh-Hans"} and note["meetingDate"] == "2026-12-07"

    async def shown_in_english():
        seen = await _home(asia, "en-GB")
        return seen if "General meeting, November" in seen else None

    english = await eventually(shown_in_english, timeout=20)
    assert "Minutes from the branches" in english and "Meeting of 7 December 2026" in english
    assert "2026-12-07" not in english
    chinese = await _home(asia, "zh-CN")
    assert "2026年12月7日 的会议" in chinese and "2026-12-07" not in chinese
