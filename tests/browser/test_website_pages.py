"""The website in a browser and on the wire: error pages for browsers and JSON for servers, the Atom feed, archives,
contentMap, writing, editing, deleting, replying, signing, and the dashboard's delivery retry."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import aiohttp

from node.core.appkeys import CLOCK, DATABASE
from node.core.clock import to_epoch
from tests.browser.test_poll_pages import sign_in_as
from tests.support.c2s import get_json, publish

HTML = "text/html,application/xhtml+xml,*/*;q=0.8"


async def test_a_browser_gets_an_error_page_in_its_language_and_a_server_gets_json(make_node):
    node = await make_node("london")
    async with aiohttp.ClientSession() as session:
        chinese_browser = {"Accept": HTML, "Accept-Language": "zh-CN"}
        async with session.get(f"{node.base_url}/nowhere", headers=chinese_browser) as r:
            page = await r.text()
            assert r.status == 404 and r.content_type == "text/html"
            assert '<html lang="zh-Hans">' in page and "页面不存在" in page
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        async with session.get(f"{node.base_url}/nowhere", headers={"Accept": "application/activity+json"}) as r:
            assert r.status == 404 and (await r.json())["error"]
        async with session.post(f"{node.base_url}/admin/about", headers={"Accept": HTML}, data={}) as r:
            assert r.status == 200 and "/login" in str(r.url)  # sent to sign in first


async def test_the_atom_feed_lists_the_chapters_posts(make_node):
    node = await make_node("london")
    await publish(
        node, {"type": "Note", "postKind": "news", "name": "Office", "content": "<p>New office &amp; more</p>"}
    )
    await publish(node, {"type": "Minutes", "name": "General meeting", "meetingDate": "2026-11-20"})
    async with aiohttp.ClientSession() as session, session.get(f"{node.base_url}/feed.atom") as response:
        assert response.content_type == "application/atom+xml"
        feed = ET.fromstring(await response.read())  # noqa: S314 (our own node's feed)
    atom = "{http://www.w3.org/2005/Atom}"
    titles = [entry.find(f"{atom}title").text for entry in feed.findall(f"{atom}entry")]
    assert titles == ["General meeting", "Office"]  # the minutes once (not their announcement too)
    assert feed.find(f"{atom}title").text == "IOPS London"


async def test_what_the_chapter_publishes_carries_its_language(make_node):
    node = await make_node("london")
    _, result, _ = await publish(node, {"type": "Note", "content": "<p>Hello</p>"})
    _, note = await get_json(result["object"])
    assert note["contentMap"] == {"en": "<p>Hello</p>"}
    await publish(node, {"type": "Update", "object": {"id": result["object"], "content": "<p>Hello again</p>"}})
    _, note = await get_json(result["object"])
    assert note["contentMap"] == {"en": "<p>Hello again</p>"}
    _, event, _ = await publish(
        node, {"type": "Event", "name": "Fair", "startTime": "2099-01-01T10:00:00Z", "content": "<p>Books</p>"}
    )
    _, served = await get_json(event["object"])
    assert served["contentMap"] == {"en": "<p>Books</p>"}


async def test_archives_are_paged(make_node):
    node = await make_node("london")
    for number in range(23):
        await publish(node, {"type": "Note", "postKind": "news", "name": f"News {number}", "content": "<p>x</p>"})
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{node.base_url}/news") as first:
            text = await first.text()
            assert "News 22" in text and "News 3" in text and ">News 2<" not in text and 'rel="next"' in text
        async with session.get(f"{node.base_url}/news?page=2") as second:
            text = await second.text()
            assert ">News 2<" in text and ">News 0<" in text and 'rel="next"' not in text
        async with session.get(f"{node.base_url}/news?page=zero", headers={"Accept": "application/json"}) as bad:
            assert bad.status == 400


async def test_the_admin_retries_a_dead_delivery_from_the_dashboard(make_node, page):
    node = await make_node("london", start_workers=False)
    now = to_epoch(node.app[CLOCK].now())
    async with node.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO deliveries (activity_id, inbox, host, signer, state, next_attempt_at,"
            " created_at, attempts, last_status, last_error) VALUES"
            " ('https://x/a', 'https://peer.example/inbox', 'peer.example', 'london', 'dead', ?, ?, 7,"
            " 410, 'the inbox is gone')",
            (now, now),
        )
    from tests.support.nodes import ADMIN_TOKEN

    await page.goto(f"{node.base_url}/login/admin?next=/admin")
    await page.locator("#token").fill(ADMIN_TOKEN)
    await page.locator("form[action='/login/admin'] button").click()
    assert "the inbox is gone" in await page.locator("[data-delivery]").inner_text()
    await page.get_by_role("button", name="Retry the delivery to https://peer.example/inbox").click()
    assert await page.locator("[data-delivery]").count() == 0
    state = await node.app[DATABASE].reader.execute_fetchall("SELECT state, attempts FROM deliveries")
    assert [tuple(row) for row in state] == [("queued", 0)]


async def test_a_secretary_edits_and_deletes_news_and_a_member_replies_and_signs(make_node, browser):
    node = await make_node("london")
    secretary_context, member_context = await browser.new_context(), await browser.new_context()
    secretary, member = await secretary_context.new_page(), await member_context.new_page()
    try:
        await sign_in_as(node, secretary, "sam", role="secretary")
        await secretary.goto(f"{node.base_url}/write/news")
        await secretary.get_by_label("Text").fill("First line.\n\nSecond <b>line</b>.")
        await secretary.get_by_role("button", name="Publish").click()
        news_id = secretary.url
        paragraphs = await secretary.locator("article.post p").all_inner_texts()
        assert paragraphs[-2:] == ["First line.", "Second <b>line</b>."]
        await secretary.get_by_role("link", name="Edit").click()
        assert await secretary.get_by_label("Text").input_value() == "First line.\n\nSecond <b>line</b>."
        await secretary.get_by_label("Text").fill("Changed.")
        await secretary.get_by_role("button", name="Save the changes").click()
        assert "Changed." in await secretary.locator("article.post").inner_text()

        await sign_in_as(node, member, "maria")
        await member.goto(f"{node.base_url}/write/blog")
        await member.get_by_label("Text").fill("A member's thoughts.")
        await member.get_by_role("button", name="Publish").click()
        blog_id = member.url
        await member.get_by_role("button", name="Sign", exact=True).click()
        assert "1 signatory" in await member.locator("section.panel").inner_text()
        await member.goto(news_id)
        await member.get_by_label("Your reply").fill("Thanks!")
        await member.get_by_role("button", name="Reply").click()
        assert "Thanks!" in await member.locator("article.reply").inner_text()
        assert await member.get_by_role("link", name="Edit").count() == 0  # not hers to edit

        await secretary.goto(news_id)
        asked: list[str] = []

        async def confirm(dialog) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        secretary.once("dialog", confirm)
        await secretary.get_by_role("button", name="Delete").click()
        await secretary.wait_for_load_state()
        assert asked == ["Delete this for good? It cannot be undone."]  # it asks first
        status, _ = await get_json(news_id)
        assert status == 410
        _, blog = await get_json(blog_id)
        assert blog["attributedTo"] == f"{node.base_url}/users/maria"
    finally:
        await secretary_context.close()
        await member_context.close()
