"""A member's page, ``/@<username>``, in Chromium, in English and Chinese: their display name, when they
joined, their blog posts and the posts they signed; a blog post names its signatories, each linked to
their page, and a blog list links each author's name there and says how many signed each post. Screenshots at 1280 and 390 px."""

from __future__ import annotations

import time

from node.membership import accounts, passwords
from tests.browser.federation import browser_in, shots
from tests.browser.test_poll_pages import sign_in_as

PASSWORD = "correct horse battery staple"


async def _account(node, username: str, display_name: str) -> None:
    async with node.db.transaction() as conn:
        await accounts.insert_account(
            conn,
            username=username,
            display_name=display_name,
            password_hash=passwords.hash_password(PASSWORD),
            now=time.time(),
        )


async def test_a_members_page_lists_their_posts_and_signatures(browser, make_node):
    node = await make_node()
    await _account(node, "ada", "Ada Lovelace")
    await _account(node, "mei", "Mei Chen")
    ada = await browser_in(browser, "en-GB")
    await sign_in_as(node, ada, "ada")
    await ada.goto(f"{node.base_url}/write/blog")
    await ada.get_by_label("Title (optional)").fill("Notes on the engine")
    await ada.get_by_label("Text").fill("It weaves algebraic patterns.\n\nAs the loom weaves flowers.")
    await ada.locator("form.compose button[type=submit]").last.click()
    post_url = ada.url

    mei = await browser_in(browser, "zh-CN")
    await sign_in_as(node, mei, "mei")
    await mei.goto(post_url)
    await mei.get_by_role("button", name="联署").click()
    await mei.goto(post_url)
    signed_by = mei.locator(".signatories")
    assert await signed_by.get_by_role("link", name="Mei Chen").get_attribute("href") == "/@mei"
    await shots(mei, "blog-post-signed-zh")

    await ada.goto(f"{node.base_url}/blog")
    listed = ada.locator("main ul.items > li", has_text="Notes on the engine")
    assert "1 signatory" in await listed.inner_text()  # a blog list shows how many signed
    await ada.get_by_role("link", name="by Ada Lovelace").first.click()
    assert ada.url == f"{node.base_url}/@ada"
    assert await ada.get_by_role("heading", level=1).inner_text() == "Ada Lovelace"
    text = await ada.locator("main").inner_text()
    assert "Notes on the engine" in text and "Joined" in text and "Member of" in text
    await shots(ada, "person-ada-en")

    await mei.goto(f"{node.base_url}/@mei")
    signed = mei.locator(".card", has_text="联署过的帖子")
    assert await signed.get_by_role("link", name="Notes on the engine").get_attribute("href") == post_url
    assert "加入于" in await mei.locator("main").inner_text()
    await shots(mei, "person-mei-zh")
    await mei.goto(f"{node.base_url}/@nobody")
    assert "nobody" in await mei.locator("main").inner_text()


async def test_the_account_page_changes_name_and_password_and_lists_ones_posts(browser, make_node):
    node = await make_node()
    await _account(node, "ada", "Ada Lovelace")
    ada = await browser_in(browser, "en-GB")
    await sign_in_as(node, ada, "ada")
    await ada.goto(f"{node.base_url}/write/blog")
    await ada.get_by_label("Title (optional)").fill("Notes on the engine")
    await ada.get_by_label("Text").fill("It weaves algebraic patterns.")
    await ada.locator("form.compose button[type=submit]").last.click()

    await ada.goto(f"{node.base_url}/account")
    assert "Notes on the engine" in await ada.locator(".card", has_text="Your posts").inner_text()
    await ada.get_by_label("Display name").fill("Ada King")
    await ada.get_by_role("button", name="Change my name").click()
    assert "Your display name is changed." in await ada.get_by_role("status").inner_text()
    assert await ada.get_by_role("heading", level=1).inner_text() == "Ada King"

    await ada.get_by_label("Current password").fill("not my password at all")
    await ada.get_by_label("New password").fill("a brand new long passphrase")
    await ada.get_by_role("button", name="Change my password").click()
    assert "that is not your current password" in await ada.get_by_role("alert").inner_text()
    await ada.get_by_label("Current password").fill(PASSWORD)
    await ada.get_by_label("New password").fill("a brand new long passphrase")
    await ada.get_by_role("button", name="Change my password").click()
    assert "Your password is changed." in await ada.get_by_role("status").inner_text()
    assert await accounts.authenticate(node.app, "ada", "a brand new long passphrase") is not None
    await shots(ada, "account-en")
