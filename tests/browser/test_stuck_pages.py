"""What used to leave people stuck, in Chromium: a refused form keeps what was typed and says why in the
reader's language, and so does a refused vote; an error page says what to do next and links there (back to the page one came
from, sign in); dates follow the reader's own conventions (en-GB: day before month)."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from node.core.appkeys import CLOCK, URLS
from node.core.clock import iso
from node.membership import accounts
from outbox import service
from tests.browser.federation import admin_page, browser_in, shots
from tests.browser.test_poll_pages import sign_in_as
from tests.support.c2s import publish
from tests.support.nodes import ADMIN_TOKEN
from tests.support.polls import add_member, closes_in


async def test_a_refused_poll_keeps_what_was_typed_in_chinese(browser, make_node):
    node = await make_node()
    page = await browser_in(browser, "zh-CN")
    await sign_in_as(node, page, "sam", role="secretary")
    await page.goto(f"{node.base_url}/polls/new")
    await page.locator("#content").fill("野餐还是酒吧？")
    await page.locator("input[name=kind][value=anyOf]").check()
    await page.locator("#closes").fill("2030-05-01T18:00")
    await page.locator("form.compose button[type=submit]").click()
    alert = await page.get_by_role("alert").inner_text()
    assert "至少两个选项" in alert  # the reason, in Chinese
    assert await page.locator("#content").input_value() == "野餐还是酒吧？"
    assert await page.locator("input[name=kind][value=anyOf]").is_checked()
    assert await page.locator("#closes").input_value() == "2030-05-01T18:00"
    await shots(page, "poll-refused-zh")


async def test_a_refused_vote_says_why_in_chinese(browser, make_node):
    """The reason a ballot is not counted (none ticked, an option ticked twice) is in the reader's language."""
    node = await make_node()
    body = {"type": "Question", "content": "<p>野餐还是酒吧？</p>", "anyOf": ["Picnic", "Pub"]}
    status, made, _ = await publish(node, {**body, "endTime": closes_in(node, days=3)})
    assert status == 201, made
    page = await browser_in(browser, "zh-CN")
    await sign_in_as(node, page, "mei")
    poll_page = f"{node.base_url}/polls/{made['object'].rsplit('/', 1)[-1]}"
    await page.goto(poll_page)
    await page.get_by_role("button", name="投票").click()  # nothing ticked
    text = await page.locator("main").inner_text()
    assert "请选择一个选项" in text and "choose an option" not in text
    await page.goto(poll_page)
    await page.get_by_label("Picnic").check()
    await page.get_by_role("button", name="投票").click()
    await page.goto(poll_page)  # several choices: the form is there again
    await page.get_by_label("Picnic").check()
    await page.get_by_role("button", name="投票").click()
    text = await page.locator("main").inner_text()
    assert "这个选项已经选过" in text and "already chosen" not in text


async def test_error_pages_say_what_to_do(browser, make_node):
    node = await make_node()
    page = await browser_in(browser, "en-GB")
    await page.goto(f"{node.base_url}/polls/00000000-0000-0000-0000-000000000000", referer=f"{node.base_url}/polls")
    assert await page.get_by_role("link", name="Back to the page you came from").get_attribute("href") == "/polls"
    await page.goto(f"{node.base_url}/write/news")
    assert "/login" in page.url or await page.get_by_role("link", name="Sign in").count() > 0
    zh = await browser_in(browser, "zh-CN")
    await zh.goto(f"{node.base_url}/polls/00000000-0000-0000-0000-000000000000")
    text = await zh.locator("main").inner_text()
    assert "没有可投票的内容" in text and "nothing to vote on" not in text
    await shots(zh, "error-404-zh")


async def test_feed_survey_options_excerpts_and_the_admins_landing(browser, make_node):
    node = await make_node()
    await _account_post(node)
    for body in (
        {
            "type": "Note",
            "postKind": "news",
            "name": "Two paragraphs",
            "content": "<p>First one.</p><p>Second one.</p>",
        },
        {
            "type": "Event",
            "name": "Book fair",
            "startTime": closes_in(node, days=9),
            "location": {"type": "Place", "name": "Town hall"},
        },
        {
            "type": "Survey",
            "name": "Members' survey",
            "content": "<p>Once a year.</p>",
            "endTime": closes_in(node, days=3),
            "orderedItems": [{"type": "Question", "content": "<p>Dues?</p>", "oneOf": ["Up", "Same"]}],
        },
    ):
        status, made, _ = await publish(node, body)
        assert status == 201, made
    survey_page = "/surveys/" + made["object"].rsplit("/", 1)[-1]

    async with aiohttp.ClientSession() as session, session.get(f"{node.base_url}/feed.atom") as response:
        feed = await response.text()
    assert "Notes on the engine" in feed  # a member's blog post
    assert "Book fair" in feed and "Town hall" in feed  # an event, with its place

    visitor = await browser_in(browser, "en-GB")
    await visitor.goto(f"{node.base_url}{survey_page}")
    assert await visitor.locator("ul.options li", has_text="Same").count() == 1  # options shown to a visitor
    await visitor.goto(f"{node.base_url}/news")
    assert "First one. Second one." in await visitor.locator("main").inner_text()

    admin = await browser_in(browser, "en-GB")
    await admin.goto(f"{node.base_url}/login/admin")
    await admin.locator("#token").fill(ADMIN_TOKEN)
    await admin.locator("section.panel button[type=submit]").click()
    assert admin.url == f"{node.base_url}/admin"


async def _account_post(node) -> None:
    """A member's public blog post, published as the pages publish it (under the member's Person)."""
    async with node.db.transaction() as conn:
        await accounts.insert_account(conn, username="ada", display_name="Ada", password_hash="-", now=0.0)
    page_body = {"type": "Note", "postKind": "blog", "name": "Notes on the engine", "content": "<p>Looms.</p>"}
    await service.submit(node.app, "ada", page_body)


async def test_events_say_their_day_once_and_past_ones_take_no_answers(browser, make_node):
    node = await make_node(start_workers=True)
    now = node.app[CLOCK].now().replace(microsecond=0)
    start = (now + timedelta(days=3)).replace(hour=10, minute=0, second=0)
    upcoming = {
        "type": "Event",
        "name": "Book fair",
        "startTime": iso(start),
        "endTime": iso(start + timedelta(hours=7)),
        "location": {"type": "Place", "name": "Town hall"},
    }
    past = {"type": "Event", "name": "Last year's fair", "startTime": iso(now - timedelta(days=30))}
    ids = []
    for body in (upcoming, past):
        status, made, _ = await publish(node, body)
        assert status == 201, made
        ids.append(made["object"])
    page = await browser_in(browser, "en-GB")
    await sign_in_as(node, page, "maria")
    await page.goto(ids[0])
    when = await page.locator("dl.facts dd").first.inner_text()
    assert when.count(str(start.year)) == 1 and "10:00–17:00" in when and when.split(",")[0] in WEEKDAYS
    assert await page.get_by_role("button", name="Going", exact=True).count() == 1
    await page.goto(ids[1])
    assert await page.get_by_role("heading", name="Who came").count() == 1
    assert await page.get_by_role("button", name="Going", exact=True).count() == 0
    await shots(page, "event-past-en")


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


async def test_the_members_table_fits_a_phone(browser, make_node):
    node = await make_node()
    for username in ("ada", "grace"):
        async with node.db.transaction() as conn:
            await accounts.insert_account(
                conn, username=username, display_name=username.title(), password_hash="-", now=0.0
            )
        await add_member(node, node.app[URLS].actor(username), is_local=True)
    admin = await admin_page(browser, node, next_path="/admin/members")
    await admin.set_viewport_size({"width": 390, "height": 900})
    remove = admin.get_by_role("button", name="Remove Ada")
    box = await remove.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390  # the action is on screen, not scrolled away
    await shots(admin, "admin-members-en")
