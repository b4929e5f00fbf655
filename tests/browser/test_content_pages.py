"""The chapter's content in a real browser: minutes, an event answered by a member, a thread, the profile."""

from __future__ import annotations

from tests.support.c2s import eventually, publish
from tests.support.content import signed_in_local_member
from tests.support.polls import closes_in

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def test_the_minutes_page_shows_the_structure(make_node, page):
    london = await make_node("london")
    _, result, _ = await publish(
        london,
        {
            "type": "Minutes",
            "name": "General meeting, November",
            "meetingDate": "2026-11-20",
            "location": {"type": "Place", "name": "Central Library", "address": "1 High Street"},
            "attendees": ["Ada", "Grace"],
            "agenda": ["Book fair", "Winter march"],
            "decisions": [
                {"text": "Hold the book fair on 5 December", "vote": "https://example.social/questions/7"},
                "Join the winter march",
            ],
            "content": "<p>Tea was <em>excellent</em>.</p>",
        },
    )

    await page.goto(result["object"])
    assert await page.get_by_role("heading", level=1).inner_text() == "General meeting, November"
    assert "November 20, 2026" in await page.locator("dl").inner_text()
    assert "Central Library (1 High Street)" in await page.locator("dl").inner_text()
    assert await page.get_by_role("region", name="Attendees").get_by_role("listitem").all_inner_texts() == [
        "Ada",
        "Grace",
    ]
    assert await page.get_by_role("region", name="Agenda").get_by_role("listitem").all_inner_texts() == [
        "Book fair",
        "Winter march",
    ]
    decisions = page.get_by_role("region", name="Decisions")
    assert await decisions.get_by_role("heading").inner_text() == "Decisions (2)"
    assert (
        await decisions.get_by_role("link", name="the vote").get_attribute("href")
        == "https://example.social/questions/7"
    )
    assert await page.locator("section[aria-label=Notes] em").inner_text() == "excellent"


async def test_a_signed_in_member_answers_going_and_the_count_changes(make_node, page):
    """The member is a local account: its membership and session rows are written directly
    (sign-up and login belong to the members feature), and the session cookie set in the browser."""
    london = await make_node("london")
    _, result, _ = await publish(
        london,
        {
            "type": "Event",
            "name": "Winter book fair",
            "startTime": closes_in(london, days=20),  # upcoming: a past event takes no answers
            "endTime": closes_in(london, days=20, hours=7),
            "location": "Town hall",
        },
    )
    await page.goto(result["object"])  # not signed in: counts, no form
    assert await page.locator("[data-count=going]").inner_text() == "0"
    assert await page.get_by_role("button", name="Going").count() == 0
    assert "Town hall" in await page.locator("dl").inner_text()

    await page.context.add_cookies([await signed_in_local_member(london, "maria")])
    await page.goto(result["object"])
    await page.get_by_role("button", name="Going", exact=True).click()
    assert page.url == result["object"]
    assert await page.locator("[data-count=going]").inner_text() == "1"
    assert "Your answer: Going" in await page.get_by_role("region", name="Answers").inner_text()

    await page.get_by_role("button", name="Not going").click()
    assert await page.locator("[data-count=going]").inner_text() == "0"
    assert await page.locator("[data-count=not_going]").inner_text() == "1"


async def test_an_answer_without_the_csrf_token_is_refused(make_node, page):
    london = await make_node("london")
    _, result, _ = await publish(london, {"type": "Event", "name": "Talk", "startTime": "2026-12-05T10:00:00Z"})
    await page.context.add_cookies([await signed_in_local_member(london, "maria")])
    response = await page.request.post(f"{result['object']}/answer", form={"answer": "going"})
    assert response.status == 403 and "CSRF" in (await response.json())["error"]


async def test_a_post_page_shows_its_thread_and_counts(make_node, remote_actor, page):
    london = await make_node("london")
    alice = await remote_actor("alice")
    _, result, _ = await publish(london, {"type": "Note", "content": "<p>Book fair on Saturday</p>"})
    note_id = result["object"]
    reply = {
        "id": alice.new_id("notes"),
        "type": "Note",
        "attributedTo": alice.id,
        "inReplyTo": note_id,
        "content": "<p>Count me <strong>in</strong><script>alert(1)</script></p>",
        "to": [PUBLIC],
        "published": "2026-11-27T10:00:00Z",
    }
    for activity in (
        alice.activity("Create", reply),
        alice.activity("Like", note_id),
        alice.activity("Announce", note_id, to=[PUBLIC]),
    ):
        assert (await alice.post(london.inbox, activity))[0] == 202

    async def counted():
        await page.goto(note_id)
        return await page.locator("[data-count=boosts]").inner_text() == "1"

    await eventually(counted)
    assert await page.locator("[data-count=likes]").inner_text() == "1"
    replies = page.get_by_role("region", name="Replies").locator("article")
    assert await replies.count() == 1
    assert "Count me in" in await replies.first.inner_text()
    assert await replies.first.locator("strong").inner_text() == "in"
    assert await page.locator("script:not([src])").count() == 0  # only the site's own script file


async def test_the_home_page_lists_news_blog_minutes_and_events(make_node, page):
    london = await make_node("london")
    await publish(london, {"type": "Note", "postKind": "news", "content": "<p>New chapter office</p>"})
    await publish(london, {"type": "Note", "postKind": "blog", "content": "<p>Why we read together</p>"})
    await publish(london, {"type": "Minutes", "name": "General meeting", "meetingDate": "2026-11-20"})
    await publish(london, {"type": "Event", "name": "Winter book fair", "startTime": "2099-12-05T10:00:00Z"})
    await publish(
        london,
        {
            "type": "Event",
            "name": "Members' evening",
            "startTime": "2099-12-06T10:00:00Z",
            "to": [f"{london.actor_id}/followers"],
        },
    )

    for address in (f"{london.base_url}/@london", f"{london.base_url}/"):
        await page.goto(address)
        sections = {
            name: await page.locator(".card", has=page.get_by_role("heading", name=name))
            .locator("a.title")
            .all_inner_texts()
            for name in ("Latest news", "Blogs", "Minutes", "Upcoming events")
        }
        assert sections == {
            "Latest news": ["New chapter office"],
            "Blogs": ["Why we read together"],
            "Minutes": ["General meeting"],
            "Upcoming events": ["Winter book fair"],
        }
