"""The international's and a region's site, in Chromium, in English and Chinese, across a real tree.

world <- europe <- (london, paris), world <- americas <- lima, each a node on loopback with its own
database. London publishes minutes, a blog post, news and an event; the international's home page
shows each with London's name and a link to the original, "Newest chapters" with place, founding
date and member count, and how to find a chapter (never "Join the chapter"). ``/tree`` is a page
(the JSON stays at ``<actor>/tree`` and answers ``Accept: application/json``); London's home
names its region and the international, linked. Screenshots at 1280 and 390 px.
"""

from __future__ import annotations

import pytest

from node.core.clock import FrozenClock
from tests.browser.federation import SIZES, UNDER, browser_in, shots
from tests.support.c2s import eventually, get_json, publish
from tests.support.decisions import MemberHost, build_tree
from tests.support.polls import closes_in


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


async def _london_publishes(london) -> dict[str, str]:
    bodies = {
        "minutes": {
            "type": "Minutes",
            "name": "General meeting of London",
            "meetingDate": "2026-11-20",
            "location": {"type": "Place", "name": "Library"},
            "attendees": ["Ada", "Grace"],
            "agenda": ["Book fair"],
            "decisions": ["Hold it in spring"],
        },
        "blog": {
            "type": "Note",
            "postKind": "blog",
            "name": "Why we read together",
            "content": "<p>Reading circles make friends.</p><p>Come along.</p>",
        },
        "news": {
            "type": "Note",
            "postKind": "news",
            "name": "London has a new office",
            "content": "<p>On Baker St.</p>",
        },
        "event": {
            "type": "Event",
            "name": "Winter book fair",
            "startTime": closes_in(london, days=20),
            "endTime": closes_in(london, days=20, hours=6),
            "location": {"type": "Place", "name": "Town hall"},
        },
    }
    made = {}
    for kind, body in bodies.items():
        status, answer, _ = await publish(london, body)
        assert status == 201, answer
        made[kind] = answer["object"]
    return made


async def test_the_internationals_site_shows_the_tree_and_what_the_chapters_publish(
    browser, make_node, tmp_path, member_host
):
    nodes = await build_tree(make_node, tmp_path, FrozenClock(), member_host, SIZES, UNDER)
    world, london = nodes["world"], nodes["london"]
    made = await _london_publishes(london)

    page = await browser_in(browser, "en-GB")

    async def relayed_to_the_top():
        await page.goto(f"{world.base_url}/")
        text = await page.locator("main").inner_text()
        return all(title in text for title in ("General meeting of London", "Why we read together", "Winter book fair"))

    await eventually(relayed_to_the_top, timeout=45)  # two levels of relaying, on a busy machine
    minutes = page.locator(".card", has_text="Minutes from the branches")
    assert "IOPS London" in await minutes.inner_text() and "London" in await minutes.inner_text()
    assert await minutes.get_by_role("link", name="General meeting of London").get_attribute("href") == made["minutes"]
    blogs = page.locator(".card", has_text="Blogs from the branches")
    assert await blogs.get_by_role("link", name="Why we read together").get_attribute("href") == made["blog"]
    assert "IOPS London" in await blogs.inner_text()
    newest = await page.locator(".card", has_text="Newest chapters").inner_text()
    assert "IOPS London" in newest and "founded 1 January 2020" in newest and "3 members" in newest
    assert "IOPS Lima" in newest and "1 member" in newest
    hero = await page.locator(".hero").inner_text()
    assert "Join the chapter" not in hero and "Find a chapter near you" in hero
    find = page.locator(".card", has_text="Find a chapter near you")
    assert await find.get_by_role("link", name="IOPS Paris").get_attribute("href") == f"{nodes['paris'].base_url}/"
    await shots(page, "international-home-en")

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="The tree").click()
    assert page.url == f"{world.base_url}/tree"
    assert await page.get_by_role("heading", level=1).inner_text() == "The tree"
    tree_text = await page.locator("main").inner_text()
    assert "IOPS Europe" in tree_text and "IOPS Lima" in tree_text and "6 members" in tree_text
    assert "international" in tree_text and "region" in tree_text and "founded 1 January 2020" in tree_text
    await shots(page, "tree-en")
    status, as_json = await get_json(f"{world.base_url}/tree", accept="application/json")
    assert status == 200 and as_json["id"] == world.actor_id and as_json["memberCount"] == 6
    status, at_actor = await get_json(f"{world.actor_id}/tree", accept="text/html")
    assert status == 200 and at_actor["id"] == world.actor_id

    await page.goto(f"{london.base_url}/")
    part_of = page.locator(".hero .part-of")
    assert await part_of.get_by_role("link", name="IOPS Europe").get_attribute("href") == f"{nodes['europe'].base_url}/"
    assert await part_of.get_by_role("link", name="IOPS World").get_attribute("href") == f"{world.base_url}/"
    assert "Join the chapter" in await page.locator(".hero").inner_text()
    await shots(page, "chapter-home-en")

    zh = await browser_in(browser, "zh-CN")
    await zh.goto(f"{world.base_url}/")
    assert await zh.locator("html").get_attribute("lang") == "zh-Hans"
    newest_zh = await zh.locator(".card", has_text="最新分会").inner_text()
    assert "已创建 2020年1月1日" in newest_zh and "3 名成员" in newest_zh
    assert "IOPS London" in await zh.locator(".card", has_text="各分支的会议纪要").inner_text()
    assert "寻找你附近的分会" in await zh.locator(".hero").inner_text()
    await shots(zh, "international-home-zh")
    await zh.goto(f"{world.base_url}/tree")
    assert await zh.get_by_role("heading", level=1).inner_text() == "组织树"
    assert "国际" in await zh.locator("main").inner_text()
    await shots(zh, "tree-zh")
    await zh.goto(f"{london.base_url}/")
    assert "隶属于" in await zh.locator(".hero").inner_text()
    await shots(zh, "chapter-home-zh")
