"""What used to leave people stuck, in Chromium: a refused form keeps what was typed and says why in the
reader's language; an error page says what to do next and links there (back to the page one came
from, sign in); dates follow the reader's own conventions (en-GB: day before month)."""

from __future__ import annotations

from tests.browser.federation import browser_in, shots
from tests.browser.test_poll_pages import sign_in_as


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
