"""Polls and surveys on the chapter's pages, in a real browser.

Local member accounts (sign-up, password sign-in) are being built in parallel, so a signed-in
local member is made directly: an active local membership (node.members.upsert_member with the
actor id urls.actor(username)) and a session row (node.sessions.insert_session) whose token is
set as the ``chapterhouse_session`` cookie in the browser.
"""

from __future__ import annotations

import hashlib
import secrets

from node.core.appkeys import CLOCK, URLS
from node.core.clock import to_epoch
from node.membership.sessions import COOKIE, insert_session
from tests.support.c2s import get_json, publish
from tests.support.polls import add_member, closes_in, mastodon_vote, open_poll


async def sign_in_as(node, page, username: str, *, role: str | None = None, member: bool = True) -> str:
    """A local account with a session cookie in ``page``'s browser; returns its actor id."""
    actor_id = node.app[URLS].actor(username)
    if member:
        await add_member(node, actor_id, is_local=True, role=role)
    token = secrets.token_urlsafe(32)
    async with node.db.transaction() as conn:
        await insert_session(
            conn,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            username=username,
            is_admin=False,
            csrf_token=secrets.token_urlsafe(24),
            now=to_epoch(node.app[CLOCK].now()),
        )
    await page.context.add_cookies([{"name": COOKIE, "value": token, "url": node.base_url}])
    return actor_id


async def test_a_local_member_votes_and_the_results_page_shows_percentages(make_node, remote_actor, page):
    node = await make_node("london")
    alice = await remote_actor("alice")
    await add_member(node, alice.id)
    question_id = (await open_poll(node, "oneOf", ["Tuesday", "Thursday", "Saturday"]))["object"]
    status, _ = await alice.post(node.inbox, mastodon_vote(alice.id, question_id, node.actor_id, "Thursday", 1))
    assert status == 202
    await sign_in_as(node, page, "maria")

    await page.goto(question_id)  # a browser opening the Question's id lands on its poll page
    assert "/polls/" in page.url
    assert await page.locator("input[type=radio]").count() == 3
    await page.get_by_label("Tuesday").check()
    await page.get_by_role("button", name="Vote").click()

    assert page.url.endswith("/results")
    rows = {
        await row.get_attribute("data-option"): (
            await row.locator("[data-count]").get_attribute("data-count"),
            await row.locator("[data-percent]").inner_text(),
        )
        for row in await page.locator("ul.results li").all()
    }
    assert rows == {"Tuesday": ("1", "50%"), "Thursday": ("1", "50%"), "Saturday": ("0", "0%")}
    assert "2 voters" in await page.locator(".voters").inner_text()

    await page.goto(question_id)  # voted once: no second form
    assert await page.locator("form[aria-label=Vote]").count() == 0
    assert "You voted: Tuesday" in await page.locator(".notice").inner_text()
    _, served = await get_json(question_id)
    assert served["votersCount"] == 2


async def test_non_members_see_the_poll_but_no_vote_form(make_node, page):
    node = await make_node("london")
    question_id = (await open_poll(node, "anyOf", ["red", "blue"]))["object"]
    uuid = question_id.rsplit("/", 1)[1]

    await page.goto(f"{node.base_url}/polls/{uuid}")  # nobody signed in
    assert await page.get_by_text("Which?").is_visible()
    assert await page.locator("form[aria-label=Vote]").count() == 0

    await sign_in_as(node, page, "visitor", member=False)  # an account that is not a member
    await page.goto(f"{node.base_url}/polls/{uuid}")
    assert "visitor" in await page.locator(".account").inner_text()
    assert await page.locator("form[aria-label=Vote]").count() == 0
    assert await page.locator("input[type=checkbox]").count() == 0


async def test_a_secretary_opens_a_survey_and_a_member_answers_it_in_one_form(make_node, page, browser):
    node = await make_node("london")
    await sign_in_as(node, page, "sam", role="secretary")
    await page.goto(f"{node.base_url}/surveys/new")
    await page.get_by_label("Title").fill("Members' survey")
    await page.get_by_label("Introduction").fill("Ten minutes, once a year.")
    await page.get_by_label("Closes (UTC)").fill(closes_in(node, days=7)[:16])
    await page.locator("#q1_content").fill("Which meetings do you attend?")
    await page.locator("input[name=q1_kind][value=anyOf]").check()
    await page.locator("#q1_options").fill("General\nReading group\nSocials")
    await page.locator("#q2_content").fill("Should dues rise?")
    await page.locator("#q2_options").fill("Yes\nNo")
    await page.get_by_role("button", name="Publish the survey").click()
    assert "/surveys/" in page.url
    assert await page.get_by_role("heading", name="Members' survey").is_visible()
    survey_url = page.url

    member_context = await browser.new_context()
    member_page = await member_context.new_page()
    try:
        await sign_in_as(node, member_page, "maria")
        await member_page.goto(survey_url)
        await member_page.get_by_label("General").check()
        await member_page.get_by_label("Socials").check()
        await member_page.get_by_label("No").check()
        await member_page.get_by_role("button", name="Send my answers").click()
        assert member_page.url == survey_url + "/results"
        tables = member_page.locator("ul.results")
        assert await tables.count() == 2
        assert "100%" in await tables.nth(0).locator("li[data-option=General]").inner_text()
        assert "100%" in await tables.nth(1).locator("li[data-option=No]").inner_text()
    finally:
        await member_context.close()

    status, results = await get_json(survey_url + "/results", accept="application/json")
    assert status == 200
    assert [q["votersCount"] for q in results["questions"]] == [1, 1]
    assert [o["count"] for o in results["questions"][0]["options"]] == [1, 0, 1]


async def test_only_secretaries_and_admins_open_polls(make_node, page):
    node = await make_node("london")
    await sign_in_as(node, page, "maria")  # a plain member
    response = await page.goto(f"{node.base_url}/polls/new")
    assert response.status == 403


async def test_a_secretary_opens_a_poll_from_the_page(make_node, page):
    node = await make_node("london")
    await sign_in_as(node, page, "sam", role="secretary")
    await page.goto(f"{node.base_url}/polls/new")
    await page.locator("#content").fill("Picnic or pub?")
    await page.locator("#options").fill("Picnic\nPub")
    await page.get_by_label("Closes (UTC)").fill(closes_in(node, hours=2)[:16])
    await page.get_by_role("button", name="Publish the poll").click()
    assert "/polls/" in page.url
    assert await page.locator("input[type=radio]").count() == 2  # sam is a member too: sam may vote
    status, outbox = await get_json(f"{node.actor_id}/outbox?page=1")
    question = outbox["orderedItems"][0]["object"]
    assert question["type"] == "Question" and [o["name"] for o in question["oneOf"]] == ["Picnic", "Pub"]
    status, _answer, _ = await publish(node, {"type": "Update", "object": {"id": question["id"], "oneOf": ["Pub"]}})
    assert status == 422
