"""The chapter's website as people use it, end to end, in headless Chromium (issue 13's journey).

A newcomer opens the home page, switches to Chinese and sees the Chinese strings, and asks to
join; the admin approves on the dashboard; the member signs in, votes on the home page and
sees the result bars move, and writes a blog post that a remote ``bovine`` follower of the
chapter receives (the chapter's boost of it); a secretary publishes minutes and an event from
the pages and both appear on the home page. Screenshots of the key pages are saved under
``test-artifacts/screenshots`` (gitignored).
"""

from __future__ import annotations

from pathlib import Path

from tests.browser.test_poll_pages import sign_in_as
from tests.support.c2s import get_json, publish
from tests.support.nodes import ADMIN_TOKEN
from tests.support.polls import closes_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "a long enough password"


async def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def newcomer_joins_in_chinese(page, base: str) -> None:
    await page.goto(f"{base}/")
    assert await page.locator("html").get_attribute("lang") == "en"
    await shot(page, "home-en")
    await page.get_by_role("navigation", name="Language").get_by_role("link", name="中文").click()
    assert await page.locator("html").get_attribute("lang") == "zh-Hans"
    assert await page.get_by_role("heading", name="最新消息").is_visible()  # "Latest news"
    assert await page.get_by_role("link", name="加入", exact=True).is_visible()  # "Join"
    await shot(page, "home-zh")
    await page.goto(f"{base}/polls")  # the choice is remembered (cookie) on the next page
    assert await page.get_by_role("heading", level=1).inner_text() == "投票与问卷"
    await page.get_by_role("link", name="加入", exact=True).click()
    await page.get_by_label("用户名").fill("mei")
    await page.get_by_label("显示名称").fill("Mei Chen")
    await page.get_by_label("密码").fill(PASSWORD)
    await shot(page, "join-zh")
    await page.get_by_role("button", name="申请加入").click()
    assert "等待分会管理员批准" in await page.get_by_role("status").inner_text()


async def admin_approves_on_the_dashboard(admin, base: str) -> None:
    await admin.goto(f"{base}/login/admin?next=/admin")
    await admin.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await admin.get_by_role("button", name="Sign in").click()
    assert admin.url == f"{base}/admin"
    await shot(admin, "dashboard-en")
    await admin.get_by_role("button", name="Approve Mei Chen").click()
    assert admin.url == f"{base}/admin"
    assert "1 member" in await admin.locator(".card", has_text="Membership requests").inner_text()


async def member_votes_and_sees_the_bars_move(page, base: str, results: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("用户名").fill("mei")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.goto(results)
    pub = page.locator("ul.results li[data-option=Pub]")
    assert await pub.locator("progress").get_attribute("value") == "0.0"
    await page.goto(f"{base}/")
    card = page.locator("li.poll-card", has_text="Picnic or pub?")
    await card.get_by_label("Pub").check()
    await card.get_by_role("button", name="投票").click()
    assert page.url == results
    assert await pub.locator("[data-count]").get_attribute("data-count") == "1"
    assert await pub.locator("progress").get_attribute("value") == "50.0"
    assert "50%" in await pub.inner_text()
    await shot(page, "poll-results-zh")


async def member_writes_a_blog_post(page, base: str) -> str:
    await page.goto(f"{base}/write/blog")
    await page.get_by_label("标题（可选）").fill("Why we read together")
    await page.get_by_label("正文").fill("Reading groups are where the chapter thinks.\n\nCome on Thursday.")
    await page.get_by_role("button", name="发布").click()
    assert await page.get_by_role("heading", name="Why we read together").is_visible()
    assert "Mei Chen" in await page.locator(".byline").inner_text()
    await shot(page, "blog-post-zh")
    return page.url


async def secretary_publishes_minutes_and_an_event(page, base: str, tz_local: str) -> None:
    await page.goto(f"{base}/write/minutes")
    await page.get_by_label("Title").fill("General meeting, December")
    await page.get_by_label("Meeting date").fill("2026-12-01")
    await page.get_by_label("Attendees, one per line").fill("Ada\nGrace")
    await page.get_by_label("Agenda, one item per line").fill("Book fair")
    await page.get_by_label("Decisions, one per line").fill("Hold the book fair in spring")
    await page.get_by_role("button", name="Publish").click()
    assert await page.get_by_role("heading", name="General meeting, December").is_visible()
    await shot(page, "minutes-en")
    await page.goto(f"{base}/write/event")
    await page.get_by_label("Title").fill("Spring book fair")
    await page.get_by_label("Starts (UTC)").fill(tz_local)
    await page.get_by_label("Place (optional)").fill("Town hall")
    await page.get_by_role("button", name="Publish").click()
    assert await page.get_by_role("heading", name="Spring book fair").is_visible()
    await shot(page, "event-en")


async def test_newcomer_admin_member_and_secretary_use_the_website(make_node, browser, bovine_peer):
    node = await make_node("london")
    base = node.base_url
    follower = await bovine_peer("alice")
    assert (await follower.follow(node.actor_id))["status"] == 202
    await follower.wait_for(lambda e: e["activity"]["type"] == "Accept")
    poll = await publish(
        node,
        {
            "type": "Question",
            "content": "<p>Picnic or pub?</p>",
            "oneOf": ["Picnic", "Pub"],
            "endTime": closes_in(node, days=3),
        },
    )
    await publish(node, {"type": "Note", "postKind": "news", "content": "<p>The chapter has a new office.</p>"})

    contexts = [await browser.new_context(locale="en-GB") for _ in range(3)]
    newcomer, admin, secretary = [await context.new_page() for context in contexts]
    try:
        await newcomer_joins_in_chinese(newcomer, base)
        await admin_approves_on_the_dashboard(admin, base)
        # a secretary (a second account) has voted Picnic already
        await sign_in_as(node, secretary, "sam", role="secretary")
        poll_page = f"{base}/polls/{poll[1]['object'].rsplit('/', 1)[1]}"
        await secretary.goto(poll_page)
        await secretary.get_by_label("Picnic").check()
        await secretary.get_by_role("button", name="Vote").click()
        await member_votes_and_sees_the_bars_move(newcomer, base, f"{poll_page}/results")

        post_id = await member_writes_a_blog_post(newcomer, base)
        boost = await follower.wait_for(lambda e: e["activity"]["type"] == "Announce")
        assert boost["verified"] is True, boost["error"]
        assert boost["activity"]["object"] == post_id
        _, served = await get_json(post_id)
        assert served["attributedTo"] == f"{base}/users/mei" and served["postKind"] == "blog"
        assert served["contentMap"] == {"en": served["content"]}

        await secretary_publishes_minutes_and_an_event(secretary, base, closes_in(node, days=30)[:16])
        await secretary.goto(f"{base}/")
        home = await secretary.locator("main").inner_text()
        for expected in ("General meeting, December", "Spring book fair", "Why we read together", "Mei Chen"):
            assert expected in home
        assert home.count("Why we read together") == 1  # no item twice
        await shot(secretary, "home-en-after")
    finally:
        for context in contexts:
            await context.close()
