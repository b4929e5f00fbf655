"""The projects of the levels above, in the browser (Chromium), from a chapter's own site.

A real tree international <- region <- chapter. Chen, with an account on the chapter only, signed
in there: sees the international's project on the chapter's ``/projects``, starts one at the
international from the chapter's form, then on its page (at the chapter) joins it, writes a
draft and signs it; the revision form comes filled with the draft as the international serves
it. In English and in Chinese, at 1280 and 390 px (nothing scrolls sideways at 390 px; axe
finds nothing serious). Screenshots in ``test-artifacts/screenshots/projects/``.
"""

from __future__ import annotations

from node.projects import store
from tests.browser.federation import browser_in
from tests.browser.test_poll_pages import sign_in_as
from tests.browser.test_project_pages import shots
from tests.integration.test_projects_above import answer_of, build, wanda_starts, world_project
from tests.support.accounts import approved_account
from tests.support.c2s import eventually
from tests.support.forms import browser_like_session


async def _signed_in(browser, node, language: str):
    page = await browser_in(browser, language)
    await sign_in_as(node, page, "chen", member=False)  # an approved account already
    return page


async def _shown_after_reload(page, locator: str, text: str) -> None:
    async def shown():
        await page.reload()
        return text in await page.locator(locator).inner_text()

    await eventually(shown, timeout=20, interval=0.3)


async def test_a_chapter_member_at_the_internationals_projects_in_english_and_chinese(make_node, tmp_path, browser):
    nodes = await build(make_node, tmp_path)
    world, chapter = nodes["world"], nodes["chapter"]
    await wanda_starts(world)
    async with browser_like_session() as session:
        member = await approved_account(session, chapter, "chen", "Chen Li")

    chen = await _signed_in(browser, chapter, "en-GB")
    await chen.goto(f"{chapter.base_url}/projects")
    assert "A charter for all" in await chen.locator("main").inner_text()
    await chen.locator("#above-level").select_option(world.actor_id)
    await chen.locator("#above-title").fill("Open the books")
    await chen.locator("#above-aim").fill("Every account of every level, published each year.")
    assert await chen.locator("#above-default").get_attribute("placeholder") == "for example: disband"
    await chen.locator("#above-default").fill("disband")
    await chen.get_by_role("button", name="Send the project").click()
    await answer_of(chapter, member, "start")
    project = await world_project(world, "Open the books")
    await chen.goto(f"{chapter.base_url}/projects")
    assert "accepted" in await chen.locator("#above-sent + ul").inner_text()
    await shots(chen, "above-list-en")

    await chen.get_by_role("link", name="Open the books").first.click()
    await chen.get_by_role("button", name="Join the project").click()
    await chen.get_by_role("link", name="Write a draft").click()
    await chen.locator("#title").fill("Books, draft A")
    await chen.locator("#text").fill("Each level publishes its accounts.\n\nAuditors are drawn by lot.")
    await chen.get_by_role("button", name="Publish the draft").click()
    await eventually(lambda: store.drafts_of(world.db.reader, project.id), timeout=20)
    await _shown_after_reload(chen, "[aria-labelledby=drafts-heading]", "Books, draft A")
    async with chen.expect_navigation():
        await chen.get_by_role("button", name="Sign this draft").click()
    await _shown_after_reload(chen, "[aria-labelledby=sent-heading]", "sign a draft")
    await shots(chen, "above-project-en")
    await chen.get_by_role("link", name="Revise the draft").click()
    assert await chen.locator("#title").input_value() == "Books, draft A"
    assert "Auditors are drawn by lot." in await chen.locator("#text").input_value()
    await shots(chen, "above-revise-en")

    zh = await _signed_in(browser, chapter, "zh-CN")
    await zh.goto(f"{chapter.base_url}/projects")
    body = await zh.locator("main").inner_text()
    assert "IOPS World的项目" in body and "在上级发起项目" in body and "已接受" in body
    assert "在IOPS World发起项目" in await zh.locator("#above-level option").all_inner_texts()
    await shots(zh, "above-list-zh")
    await zh.get_by_role("link", name="Open the books").first.click()
    body = await zh.locator("main").inner_text()
    assert "你就此项目发出的内容" in body and "撤回我的联署" in body and "退出项目" in body
    await shots(zh, "above-project-zh")
