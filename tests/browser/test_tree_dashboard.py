"""The branch tree on the admin's dashboard, in Chromium: a chapter's admin asks a region to be
its parent, the region's admin accepts the request and later removes the branch, each from the
panel of their own node."""

from __future__ import annotations

from tests.support.c2s import eventually
from tests.support.nodes import ADMIN_TOKEN
from tests.support.tree import actor, children_ids, tree_config


async def _admin_of(browser, node):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{node.base_url}/login/admin?next=/admin")
    await page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{node.base_url}/admin"
    return page


async def test_admins_link_and_unlink_branches_from_their_dashboards(browser, make_node, tmp_path):
    europe = await make_node(config=tree_config(tmp_path, "europe", "region"))
    london = await make_node(config=tree_config(tmp_path, "london", "chapter"))
    london_admin, europe_admin = await _admin_of(browser, london), await _admin_of(browser, europe)

    panel = london_admin.locator(".card", has_text="Branch tree")
    await panel.get_by_label("The parent's actor id").fill(europe.actor_id)
    await panel.get_by_role("button", name="Ask to link").click()
    panel_text = await london_admin.locator(".card", has_text="Branch tree").inner_text()
    assert "waiting for its answer" in panel_text and "IOPS Europe" in panel_text  # by name, never the actor URL
    assert europe.actor_id not in panel_text

    async def request_listed():
        await europe_admin.goto(f"{europe.base_url}/admin")
        return "IOPS London" in await europe_admin.locator(".card", has_text="Link requests").inner_text()

    await eventually(request_listed)
    await europe_admin.locator(".card", has_text="Branch tree").get_by_role("button", name="Accept").click()

    async def linked():
        return (await actor(london)).get("parent") == europe.actor_id and london.actor_id in await children_ids(europe)

    await eventually(linked)
    await london_admin.goto(f"{london.base_url}/admin")
    assert "Leave this parent" in await london_admin.locator(".card", has_text="Branch tree").inner_text()

    await europe_admin.goto(f"{europe.base_url}/admin")

    async def confirm(dialog) -> None:  # "Remove IOPS London from the tree? ..."
        assert "IOPS London" in dialog.message
        await dialog.accept()

    europe_admin.once("dialog", confirm)
    await europe_admin.locator(".card", has_text="Branch tree").get_by_role("button", name="Remove").click()

    async def unlinked():
        return "parent" not in await actor(london) and not await children_ids(europe)

    await eventually(unlinked)
