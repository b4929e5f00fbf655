"""Projects in the browser (Chromium): a member starts a project, another joins and writes a draft,
revises it twice; the project page, the draft with its signatories, and the diff between its first
and last revision, in English and in Chinese, at 1280 and 390 px (nothing scrolls sideways at 390
px; axe finds nothing serious). Screenshots in ``test-artifacts/screenshots/projects/``.
"""

from __future__ import annotations

from pathlib import Path

from tests.browser import federation
from tests.browser.federation import browser_in
from tests.browser.test_poll_pages import sign_in_as
from tests.support.accounts import approved_account
from tests.support.forms import browser_like_session

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "projects"


async def shots(page, name: str) -> None:
    await federation.shots(page, name, ARTIFACTS)


async def _member_page(browser, node, username: str, language: str = "en-GB"):
    page = await browser_in(browser, language)
    await sign_in_as(node, page, username, member=False)  # an approved account already
    return page


async def _write(page, title: str, text: str) -> None:
    await page.locator("#title").fill(title)
    await page.locator("#text").fill(text)
    await page.locator("form.compose button[type=submit]").click()


async def test_a_project_its_draft_and_the_changes_in_english_and_chinese(make_node, browser):
    node = await make_node("london")
    async with browser_like_session() as session:
        await approved_account(session, node, "ada", "Ada Lovelace")
    async with browser_like_session() as session:
        await approved_account(session, node, "bea", "Bea Wong")

    ada = await _member_page(browser, node, "ada")
    await ada.goto(f"{node.base_url}/projects")
    await ada.get_by_role("link", name="Start a project").click()
    await ada.locator("#title").fill("New statutes for the chapter")
    await ada.locator("#aim").fill("Our statutes are old.\n\nWe write new ones together, article by article.")
    await ada.locator("#default").fill("no change: the old statutes stay")
    await ada.get_by_role("button", name="Start the project").click()
    assert "/projects/" in ada.url
    project_url = ada.url

    bea = await _member_page(browser, node, "bea")
    await bea.goto(project_url)
    await bea.get_by_role("button", name="Join the project").click()
    await bea.get_by_role("link", name="Write a draft").click()
    await _write(bea, "Statutes, draft A", "The chapter meets every month.\n\nThe board is elected each year.")
    draft_url = bea.url
    await bea.get_by_role("link", name="Revise").click()
    await _write(bea, "Statutes, draft A", "The chapter meets every week.\n\nThe board is elected each year.")
    await bea.get_by_role("link", name="Revise").click()
    await _write(bea, "Statutes, draft A", "The chapter meets every week.\n\nThe board is drawn by lot each year.")
    await bea.get_by_role("button", name="Sign this draft").click()
    await ada.goto(draft_url)
    await ada.get_by_role("button", name="Sign this draft").click()
    assert "2 signatories" in await ada.locator("[data-field=signatories]").inner_text()
    assert "Bea Wong, Ada Lovelace" in await ada.locator("[data-field=signatory-names]").inner_text()
    await shots(ada, "draft-en")

    await ada.goto(project_url)
    members = await ada.locator("[data-field=members]").inner_text()
    assert "Ada Lovelace" in members and "Bea Wong" in members
    await shots(ada, "project-en")

    await ada.goto(draft_url)
    await ada.locator("#from").select_option("1")
    await ada.locator("#to").select_option("3")
    await ada.get_by_role("button", name="Compare").click()
    assert await ada.locator("[data-field=text-diff] del").first.inner_text() == "month."
    inserted = await ada.locator("[data-field=text-diff] ins").all_inner_texts()
    assert "week." in inserted and any("drawn by lot" in text for text in inserted)
    await shots(ada, "diff-en")

    zh = await _member_page(browser, node, "bea", "zh-CN")
    await zh.goto(project_url)
    body = await zh.locator("main").inner_text()
    assert "项目成员" in body and "草案" in body and "退出项目" in body
    await shots(zh, "project-zh")
    await zh.goto(draft_url)
    body = await zh.locator("main").inner_text()
    assert "联署者" in body and "修订版" in body and "撤回我的联署" in body
    await shots(zh, "draft-zh")
    await zh.goto(f"{draft_url}/diff?from=1&to=3")
    assert "从第 1 版到第 3 版的改动" in await zh.locator("h1").inner_text()
    await shots(zh, "diff-zh")
