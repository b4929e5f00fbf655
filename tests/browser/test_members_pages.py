"""Membership as people use it, in a real browser: join, approval, sign-in, roles, leaving."""

from __future__ import annotations

from tests.support.nodes import ADMIN_TOKEN

PASSWORD = "a long enough password"


async def test_a_person_joins_is_approved_made_secretary_and_leaves(make_node, page, browser):
    node = await make_node("london")
    base = node.base_url
    actor_id = f"{base}/users/sam_lee"

    # a person without a fediverse account signs up
    await page.goto(f"{base}/@london")
    await page.get_by_role("link", name="Join", exact=True).click()
    await page.get_by_label("Username").fill("sam_lee")
    await page.get_by_label("Display name").fill("Sam Lee")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Ask to join").click()
    assert "awaits approval" in await page.get_by_role("status").inner_text()

    # the admin signs in with the token, lands on the member list, and approves
    admin_context = await browser.new_context()
    admin = await admin_context.new_page()
    try:
        await admin.goto(f"{base}/admin/members")
        assert admin.url.startswith(f"{base}/login?next=/admin/members")
        await admin.get_by_role("link", name="with the admin token").click()
        await admin.get_by_label("Admin token").fill(ADMIN_TOKEN)
        await admin.get_by_role("button", name="Sign in").click()
        assert admin.url == f"{base}/admin/members"
        pending = admin.get_by_role("region", name="Waiting for approval")
        assert "Sam Lee" in await pending.inner_text()
        await admin.get_by_role("button", name="Approve Sam Lee").click()
        assert "No one is waiting." in await admin.get_by_role("region", name="Waiting for approval").inner_text()
        assert "Sam Lee" in await admin.get_by_role("region", name="Members (1)").inner_text()

        # the person signs in with the password (a wrong one first) and sees they are a member
        await page.goto(f"{base}/login")
        await page.get_by_label("Username").fill("sam_lee")
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Sign in").click()
        assert await page.get_by_role("alert").inner_text() == "Wrong username or password."
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        assert page.url == f"{base}/account"
        assert await page.locator("#role").inner_text() == "member"
        assert "sam_lee" in await page.locator(".account").inner_text()

        # the newest-members page lists them while they are active
        await page.goto(f"{base}/@london/members")
        assert await page.locator("#member-count").inner_text() == "1 member"
        assert "Sam Lee" in await page.get_by_role("region", name="Newest members").inner_text()

        # the admin makes them secretary
        await admin.get_by_label("Role of Sam Lee", exact=True).select_option("secretary")
        await admin.get_by_role("button", name="Set the role of Sam Lee").click()
        assert await admin.get_by_label("Role of Sam Lee", exact=True).input_value() == "secretary"
        await page.goto(f"{base}/account")
        assert await page.locator("#role").inner_text() == "secretary"

        # a form POST without the CSRF token is refused, even with the admin's session
        refused = await admin.request.post(f"{base}/admin/members", form={"action": "remove", "actor": actor_id})
        assert refused.status == 403 and "CSRF" in (await refused.json())["error"]

        # they leave
        await page.get_by_role("button", name="Leave the chapter").click()
        assert "You left" in await page.locator("#membership-status").inner_text()
        await page.goto(f"{base}/@london/members")
        assert await page.locator("#member-count").inner_text() == "0 members"
        assert "Sam Lee" not in await page.get_by_role("region", name="Newest members").inner_text()
        await admin.reload()
        assert "No members yet." in await admin.get_by_role("region", name="Members (0)").inner_text()
    finally:
        await admin_context.close()


async def test_the_join_form_says_what_is_wrong(make_node, page):
    node = await make_node("london")
    await page.goto(f"{node.base_url}/join")
    await page.get_by_label("Username").fill("london")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Ask to join").click()
    assert "the chapter's own name" in await page.get_by_role("alert").inner_text()
    assert await page.get_by_label("Username").input_value() == "london"  # what was typed is kept
    assert await page.get_by_label("Password").input_value() == ""  # the password is never sent back
