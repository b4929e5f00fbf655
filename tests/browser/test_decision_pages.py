"""Decisions in the browser, in Chromium, across a real tree (world <- europe <- london, paris; world <- americas <- lima).

The international's admin issues a 7-question survey from ``/decisions/new`` without typing
JSON (an incomplete question comes back with the reason and everything typed; the preview shows
what members will see); the proposal's id opens its page. In London, a member on the frozen
roll votes on the chapter's copy in Chinese and then sees "your vote is counted" with the date and
what they ticked; a member who joined after the roll was frozen sees why they cannot vote. After
the close the dashboard's Decisions panel shows the turnout and outcome, the international's home
the outcome, and both the copy and ``/results`` show the organisation's outcome: a survey's, so each
question's most chosen answer or tie, never "passed" or "not passed". Screenshots at 1280 and 390 px.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from node.core.clock import FrozenClock
from node.core.db import fetch_all
from node.decisions import copy_store
from node.membership import accounts
from tests.browser.federation import SIZES, UNDER, admin_page, browser_in, shots
from tests.browser.test_poll_pages import sign_in_as
from tests.support.c2s import eventually
from tests.support.decisions import MemberHost, build_tree, copy_questions, final_results

QUESTIONS = [
    ("Adopt the new charter?", "oneOf", ["agree", "abstain", "disagree", "block"]),
    ("Which campaigns should we run?", "anyOf", ["Housing", "Transport", "Libraries"]),
    ("How often should chapters meet?", "oneOf", ["Weekly", "Monthly"]),
    ("Raise the dues?", "oneOf", ["Yes", "No"]),
    ("Where should the congress be?", "oneOf", ["Lima", "London", "Paris"]),
    ("Which languages for the newsletter?", "anyOf", ["English", "中文", "Español"]),
    ("Publish the minutes of every meeting?", "oneOf", ["Yes", "No"]),
]


SURVEYED = "Survey: the members' opinions, nothing passes or fails"  # a survey's outcome: never passed or not


@pytest.fixture
async def member_host():
    host = await MemberHost().start()
    yield host
    await host.stop()


async def _fill_question(page, n: int, text: str, kind: str, options: list[str]) -> None:
    await page.locator(f"#q{n}_content").fill(text)
    await page.locator(f"input[name=q{n}_kind][value={kind}]").check()
    await page.locator(f"#q{n}_options").fill("\n".join(options))


async def admin_issues_a_survey(browser, world, clock):
    admin = await admin_page(browser, world)
    await shots(admin, "dashboard-international-en")
    panel = admin.locator(".card", has_text="Decisions")
    await panel.get_by_role("link", name="Put a decision to the members").click()
    assert admin.url == f"{world.base_url}/decisions/new"
    await admin.get_by_label("Title (for a survey of several questions)").fill("Members' survey 2026")
    await admin.get_by_label("Introduction (optional)").fill("Once a year, every member has a say.")
    for n in range(2, len(QUESTIONS) + 1):
        await admin.get_by_role("button", name="Add a question").click()
        await admin.locator(f"#q{n}_content").wait_for()  # the form comes back with one more (a new page load)
        assert await admin.locator(f"#q{n}_content").count() == 1
    assert await admin.get_by_label("Title (for a survey of several questions)").input_value() == "Members' survey 2026"
    for n, (text, kind, options) in enumerate(QUESTIONS, start=1):
        if n != 4:
            await _fill_question(admin, n, text, kind, options)
    await admin.locator("#q4_content").fill(QUESTIONS[3][0])  # no options yet: refused, nothing lost
    closes = (clock.now() + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    await admin.get_by_label("Voting closes (UTC)").fill(closes)
    await admin.get_by_role("button", name="Publish the decision").click()
    assert "Question 4 needs its text and at least two options" in await admin.get_by_role("alert").inner_text()
    assert await admin.locator("#q7_content").input_value() == QUESTIONS[6][0]
    assert await admin.locator("input[name=q2_kind][value=anyOf]").is_checked()
    await admin.locator("#q4_options").fill("\n".join(QUESTIONS[3][2]))
    await admin.get_by_role("button", name="Preview").click()
    preview = admin.locator(".preview")
    assert await preview.locator("ol > li").count() == 7
    said = await preview.inner_text()  # a survey asks for opinions: its rules never speak of passing
    assert "This is a survey: each question's result is its shares and its most chosen answer" in said
    assert "It passes when" not in said
    await shots(admin, "decision-new-preview-en")
    await admin.get_by_role("button", name="Publish the decision").click()
    assert "/decisions/" in admin.url
    page_text = await admin.locator("main").inner_text()
    assert "Members' survey 2026" in page_text and "A decision of IOPS World" in page_text
    assert "IOPS London" in page_text and "IOPS Europe" in page_text and "/users/" not in page_text
    assert await admin.locator("ol.asked > li").count() == 7
    await shots(admin, "decision-proposal-en")
    return admin, admin.url


async def test_a_survey_from_the_form_to_the_outcome(browser, make_node, tmp_path, member_host):
    clock = FrozenClock()
    nodes = await build_tree(make_node, tmp_path, clock, member_host, SIZES, UNDER)
    world, london = nodes["world"], nodes["london"]
    mei = await browser_in(browser, "zh-CN")
    async with london.db.transaction() as conn:
        await accounts.insert_account(conn, username="mei", display_name="Mei Chen", password_hash="-", now=0.0)
    await sign_in_as(london, mei, "mei")  # a member when the proposal arrives: on the roll

    admin, page_url = await admin_issues_a_survey(browser, world, clock)
    await admin.goto(f"{world.base_url}/polls")  # the Polls page lists the organisation's open decisions
    assert "Members' survey 2026" in await admin.locator("main").inner_text()
    await admin.goto(f"{world.base_url}/")
    assert "Members' survey 2026" in await admin.locator(".card", has_text="Decisions of the organisation").inner_text()
    proposal_id = next(iter(await _proposals(world)))
    assert len(await copy_questions(london, proposal_id)) == 7
    copy_id = (await copy_store.copy_of(london.db.reader, proposal_id))["copy_id"]

    late = await browser_in(browser, "en-GB")
    await sign_in_as(london, late, "late")  # joined after the roll was frozen

    await mei.goto(f"{london.base_url}/polls")
    await mei.locator("a", has_text="Members' survey 2026").first.click()
    assert "/decisions/" in mei.url
    text = await mei.locator("main").inner_text()
    assert "IOPS World 的决议" in text and "谁来投票" in text
    await shots(mei, "decision-copy-open-zh")
    for n, (_text, _kind, options) in enumerate(QUESTIONS):
        await mei.locator(f"form.ballot input[name=q{n}][value='{options[0]}']").check()
    await mei.locator("form.ballot input[name=q1][value='Transport']").check()  # several choices
    await mei.locator("form.ballot").get_by_role("button", name="投票").click()
    assert "你的投票已计入" in await mei.locator("main").inner_text()
    receipt = await mei.locator("code.receipt").first.inner_text()
    assert await mei.get_by_role("button", name="复制").first.is_visible()  # a copy button beside the code
    copy_page = london.base_url + "/decisions/" + copy_id.rsplit("/", 1)[-1]
    await mei.goto(copy_page)
    counted = mei.locator("[data-vote=counted]")
    assert "你的投票已计入" in await counted.inner_text() and "2026" in await counted.inner_text()
    assert await mei.locator("form.ballot").count() == 0
    ticked = mei.locator("ol.asked > li").nth(1).locator("[data-chosen]")  # what was ticked, remembered
    assert await ticked.get_attribute("data-chosen") == "Housing,Transport"
    await shots(mei, "decision-copy-voted-zh")
    await mei.goto(f"{london.base_url}/account")
    votes = mei.locator(".card", has_text="你的投票")
    assert receipt in await votes.inner_text() and "Members' survey 2026" in await votes.inner_text()
    await shots(mei, "account-votes-zh")

    await late.goto(copy_page)
    why = await late.locator("[data-vote='not on roll']").inner_text()
    assert "not on the chapter's roll when it was frozen" in why
    assert await late.locator("form.ballot").count() == 0
    await shots(late, "decision-copy-not-on-roll-en")

    clock.advance(minutes=10, seconds=1)
    final = await final_results(world, proposal_id, within=60)
    assert final["outcome"]["status"] == "survey", final
    await admin.goto(f"{world.base_url}/admin")  # the dashboard's Decisions panel: turnout and outcome
    panel = await admin.locator(".card", has_text="Put a decision to the members").inner_text()
    assert "Members' survey 2026" in panel and "1 of 7 members voted." in panel and SURVEYED in panel
    await admin.goto(f"{world.base_url}/")  # the international's home: the closed decision's outcome
    assert SURVEYED in await admin.locator(".card", has_text="Decisions of the organisation").inner_text()

    async def told_the_chapter():
        await late.goto(copy_page)
        return await late.locator("[data-outcome]").count() > 0

    await eventually(told_the_chapter, timeout=30)
    assert SURVEYED in await late.locator(".outcome-box").inner_text()
    assert "This chapter" in await late.locator(".outcome-box").inner_text()
    await shots(late, "decision-copy-closed-en")
    await late.goto(f"{london.base_url}/news")  # the outcome, told to the chapter's members as news
    told = late.locator("main a", has_text="Members' survey 2026").first
    await told.click()
    assert await late.get_by_role("heading", level=1).inner_text() == "Results of the survey «Members' survey 2026»"
    told_text = await late.locator("main").inner_text()  # each question's leading answer, never "Survey: ..."
    assert "The whole organisation voted on “Members' survey 2026”" in told_text and "Most chosen: agree" in told_text
    await shots(late, "decision-outcome-news-en")
    await mei.goto(copy_page)
    assert "问卷：征询成员的意见，不涉及通过与否" in await mei.locator(".outcome-box").inner_text()
    await shots(mei, "decision-copy-closed-zh")
    await mei.goto(f"{copy_id}/receipts/{receipt}")
    assert await mei.locator("[data-verified=true]").count() == 1
    first = await mei.locator(
        "[data-question='1']"
    ).inner_text()  # numbered as the proposal asks, not as the leaf sorts
    assert "Adopt the new charter?" in first and first.endswith("agree")
    assert (
        await mei.locator("#receipt").inner_text() == receipt
        and await mei.get_by_role("button", name="复制").is_visible()
    )
    await shots(mei, "decision-receipt-zh")

    for page, name, chosen, tie in (
        (late, "en", "Most chosen: agree (100%)", "A tie: Housing and Transport, with 50% each"),
        (mei, "zh", "最多人选择：agree（100%）", "并列：Housing和Transport，各占 50%"),
    ):
        await page.goto(f"{proposal_id}/results")
        first_section = page.locator("main article > section").first  # the outcome, before the rules and counts
        assert await first_section.get_attribute("class") == "outcome-box"
        outcome = await first_section.inner_text()  # a survey: each question's most chosen answer, or a tie
        assert chosen in outcome and tie in outcome and "passed" not in outcome.lower() and "未通过" not in outcome
        assert await first_section.locator("[data-question-outcome=survey]").count() == len(QUESTIONS)
        assert await page.get_by_role("heading", level=1).count() == 1
        assert await page.get_by_role("heading", name="Adopt the new charter?").count() == 1  # the question once
        await shots(page, f"results-{name}")
    assert page_url.startswith(world.base_url + "/decisions/")


async def _proposals(node) -> list[str]:
    return [row["id"] for row in await fetch_all(node.db.reader, "SELECT id FROM decision_proposals")]
