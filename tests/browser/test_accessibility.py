"""Accessibility: axe-core (as ``axe-playwright-python`` ships it, nothing downloaded) on every page, in both languages.

Every page a visitor, a member, a secretary and the admin see is checked in English and in
Simplified Chinese; a violation of impact "serious" or "critical" fails the test with the
rule, the page and the offending elements. Each page is also saved as a screenshot under
``test-artifacts/screenshots/axe``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe

from tests.browser.test_poll_pages import sign_in_as
from tests.support.c2s import publish
from tests.support.nodes import ADMIN_TOKEN
from tests.support.polls import closes_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "axe"
BLOCKING = ("serious", "critical")
PUBLIC_PAGES = [
    "/",
    "/news",
    "/blog",
    "/minutes",
    "/events",
    "/polls",
    "/decisions",
    "/tree",
    "/members",
    "/join",
    "/login",
    "/login/admin",
    "/no-such-page",
]
MEMBER_PAGES = ["/account", "/write", "/write/blog"]
ADMIN_PAGES = [
    "/admin",
    "/admin/members",
    "/write/news",
    "/write/minutes",
    "/write/event",
    "/polls/new",
    "/surveys/new",
]


async def _content(node) -> list[str]:
    """One of each kind of page: a post, minutes, an event, a poll and its results, a survey."""
    made = [
        await publish(node, body)
        for body in (
            {
                "type": "Note",
                "postKind": "news",
                "name": "New office",
                "content": "<p>The chapter has a new office.</p>",
            },
            {
                "type": "Minutes",
                "name": "General meeting",
                "meetingDate": "2026-11-20",
                "attendees": ["Ada"],
                "agenda": ["Book fair"],
                "decisions": ["Hold it in spring"],
            },
            {"type": "Event", "name": "Book fair", "startTime": closes_in(node, days=20), "location": "Town hall"},
            {
                "type": "Question",
                "content": "<p>Picnic or pub?</p>",
                "oneOf": ["Picnic", "Pub"],
                "endTime": closes_in(node, days=3),
            },
            {
                "type": "Survey",
                "name": "Members' survey",
                "content": "<p>Once a year.</p>",
                "endTime": closes_in(node, days=3),
                "orderedItems": [{"type": "Question", "content": "<p>Dues?</p>", "oneOf": ["Up", "Same"]}],
            },
        )
    ]
    note, minutes, event, poll, survey = (result["object"] for _, result, _ in made)
    poll_page, survey_page = f"/polls/{poll.rsplit('/', 1)[1]}", f"/surveys/{survey.rsplit('/', 1)[1]}"
    return [note, minutes, event, poll_page, f"{poll_page}/results", survey_page, f"{survey_page}/results"]


async def _check(page, axe: Axe, url: str, name: str) -> list[str]:
    await page.goto(url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = await axe.run(page)
    return [
        f"{url}: {violation['id']} ({violation['impact']}): {violation['help']} -> "
        f"{[node['target'] for node in violation['nodes']][:3]}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
async def test_every_page_passes_axe_in_both_languages(make_node, browser, language):
    node = await make_node("london")
    base, axe = node.base_url, Axe()
    object_pages = await _content(node)
    found: list[str] = []
    for who, paths in (("visitor", PUBLIC_PAGES + object_pages), ("member", MEMBER_PAGES), ("admin", ADMIN_PAGES)):
        context = await browser.new_context()
        await context.add_cookies([{"name": "chapterhouse_lang", "value": language, "url": base}])
        page = await context.new_page()
        try:
            if who == "member":
                await sign_in_as(node, page, "maria")
            elif who == "admin":
                await page.goto(f"{base}/login/admin")
                await page.locator("#token").fill(ADMIN_TOKEN)
                await page.locator("form[action='/login/admin'] button").click()
            for path in paths:
                url = path if path.startswith("http") else base + path
                name = f"{language}-{who}-{path.strip('/').replace('/', '-')[-40:] or 'home'}"
                found.extend(await _check(page, axe, url, name))
            assert await page.locator("html").get_attribute("lang") == language.replace("_", "-")
        finally:
            await context.close()
    assert not found, "accessibility violations:\n" + "\n".join(found)


async def test_the_checker_itself_finds_a_serious_violation(page):
    """The check above is worth something only if axe runs: an image without alt text is reported."""
    await page.set_content("<!doctype html><html lang='en'><title>t</title><main><img src='x.png'></main></html>")
    results = await Axe().run(page)
    assert "image-alt" in {v["id"] for v in results.response["violations"] if v["impact"] in BLOCKING}
