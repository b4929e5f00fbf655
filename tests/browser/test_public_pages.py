"""The chapter's public pages, in a real browser."""

from __future__ import annotations

from tests.support.c2s import publish
from tests.support.nodes import ADMIN_TOKEN


async def test_the_home_page_shows_public_posts_sanitised(make_node, page):
    node = await make_node("london")
    _, result, _ = await publish(
        node, {"type": "Note", "content": "<p>Book fair <strong>Saturday</strong><script>alert(1)</script></p>"}
    )
    await publish(node, {"type": "Note", "content": "<p>members only</p>", "to": [f"{node.actor_id}/followers"]})

    await page.goto(f"{node.base_url}/@london")
    assert await page.title() == "IOPS London"
    assert await page.get_by_role("heading", level=1).inner_text() == "IOPS London"
    news = page.locator(".card", has=page.get_by_role("heading", name="Latest news")).locator("ul.items > li")
    assert await news.count() == 1  # the followers-only post is not on the public page
    assert "Book fair Saturday" in await news.first.inner_text()
    assert await page.locator("script:not([src])").count() == 0
    await page.goto(result["object"])
    assert await page.locator("article strong").inner_text() == "Saturday"
    assert await page.locator("script:not([src])").count() == 0


async def test_a_browser_opening_a_note_id_gets_its_page(make_node, page):
    node = await make_node("london")
    _, result, _ = await publish(node, {"type": "Article", "name": "Spring newsletter", "content": "<p>News.</p>"})
    response = await page.goto(result["object"])
    assert response.status == 200
    assert await page.get_by_role("heading", name="Spring newsletter").is_visible()


async def test_admin_signs_in_with_the_token_and_out_again(make_node, page):
    node = await make_node("london")
    await page.goto(f"{node.base_url}/login/admin")
    await page.get_by_label("Admin token").fill("wrong-token")
    await page.get_by_role("button", name="Sign in").click()
    assert await page.get_by_role("alert").inner_text() == "That is not the admin token."

    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    assert "Dashboard" in await page.locator(".account").inner_text()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "chapterhouse_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and ADMIN_TOKEN not in cookie["value"]

    await page.get_by_role("button", name="Sign out").click()
    assert "Sign in" in await page.locator(".account").inner_text()
