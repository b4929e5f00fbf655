"""A chapter's member takes part in the international's projects from the chapter's own pages.

A real tree on loopback: international <- region <- chapter. Chen has an account on the chapter
only (no Mastodon, none at the international) and is signed in on the chapter's pages. From
there Chen sees the international's project (started there by Wanda, a member of the
international), starts a project at the international (whose page then names Chen as its
starter), joins it, writes a draft, revises it (the form filled with the draft as the
international serves it), signs it, withdraws, and replies in the thread. Each act goes out as
Chen's Person; the chapter's pages show what was sent and what the international answered.
A Reject shows with its reason; an answer from a node the act was not sent to is refused.
English and Chinese.
"""

from __future__ import annotations

from urllib.parse import quote

import aiohttp

from node.core.db import fetch_one
from node.projects import above, above_acts, store
from tests.support.accounts import approved_account
from tests.support.c2s import eventually
from tests.support.forms import browser_like_session, form_token
from tests.support.projects import three_levels
from tests.support.tree import post_signed_as


async def build(make_node, tmp_path) -> dict:
    return await three_levels(make_node, tmp_path)


async def get(session: aiohttp.ClientSession, node, path: str, language: str = "en") -> tuple[int, str]:
    headers = {"Accept": "text/html", "Accept-Language": language}
    async with session.get(f"{node.base_url}{path}", headers=headers) as response:
        return response.status, await response.text()


async def press(session, node, page: str, action: str, data: dict) -> tuple[int, str, str]:
    """Send the form posting to ``action`` on ``page`` with ``data``: status, text, final path and query."""
    status, text = await get(session, node, page)
    assert status == 200, (status, page, text[:500])
    token = form_token(text, action)
    assert token, f"no form posting to {action} on {page}"
    async with session.post(
        f"{node.base_url}{action}", data={"csrf_token": token, **data}, headers={"Accept": "text/html"}
    ) as response:
        return response.status, await response.text(), response.url.path_qs


def above_page(project_id: str) -> str:
    return f"/projects/above?id={quote(project_id, safe='')}"


async def answer_of(chapter, member: str, kind: str, *, count: int = 1) -> above_acts.Act:
    """The member's newest act of ``kind``, once the project's node answered it (and ``count`` were sent)."""

    async def answered():
        found = [a for a in await above_acts.of_member(chapter.db.reader, member) if a.kind == kind]
        return found[0] if len(found) >= count and found[0].answer is not None else None

    return await eventually(answered, timeout=20)


async def world_project(world, title: str) -> store.Project:
    async def there():
        found = [p for p in await store.projects_in_states(world.db.reader, ("open",)) if p.title == title]
        return found[0] if found else None

    return await eventually(there, timeout=20)


async def wanda_starts(world) -> store.Project:
    async with browser_like_session() as wanda:
        await approved_account(wanda, world, "wanda", "Wanda World")
        status, _, _ = await press(
            wanda,
            world,
            "/projects/new",
            "/projects/new",
            {"title": "A charter for all", "aim": "One charter for every chapter.", "default": "no change"},
        )
        assert status == 200
    return await world_project(world, "A charter for all")


async def test_a_chapter_member_takes_part_in_the_internationals_projects(make_node, tmp_path):
    nodes = await build(make_node, tmp_path)
    world, chapter = nodes["world"], nodes["chapter"]
    charter = await wanda_starts(world)
    async with browser_like_session() as chen:
        member = await approved_account(chen, chapter, "chen", "Chen Li")
        await sees_the_levels_above(chen, chapter, charter)
        project = await starts_one_at_the_world(chen, chapter, world, member)
        await joins_writes_signs_and_withdraws(chen, chapter, world, member, project)
        await reads_it_in_chinese(chen, chapter, project)


async def sees_the_levels_above(chen, chapter, charter: store.Project) -> None:
    status, page = await get(chen, chapter, "/projects")
    assert status == 200
    assert "Projects of IOPS World" in page and "Projects of IOPS Region" in page
    world_part = page.split("Projects of IOPS World", 1)[1]
    assert "A charter for all" in world_part and "One charter for every chapter." in world_part
    assert f'href="{above_page(charter.id)}"' in page.replace("&amp;", "&")
    assert "Start a project at IOPS World" in page and 'placeholder="for example: disband"' in page
    status, page = await get(chen, chapter, above_page(charter.id))
    assert status == 200 and "A charter for all" in page and "a project of IOPS World" in page


async def starts_one_at_the_world(chen, chapter, world, member: str) -> store.Project:
    typed = {"level": world.actor_id, "title": "", "aim": "Publish every account.", "default": "disband"}
    status, page, _ = await press(chen, chapter, "/projects", "/projects/above/new", typed)
    assert status == 400 and "a title is needed" in page and "Publish every account." in page
    typed["title"] = "Open the books"
    status, page, where = await press(chen, chapter, "/projects", "/projects/above/new", typed)
    assert status == 200 and where == "/projects", where
    assert "Open the books" in page and "sent to IOPS World" in page
    started = await answer_of(chapter, member, "start")
    assert started.answer == "accepted" and started.result is not None
    project = await world_project(world, "Open the books")
    assert project.id == started.result and project.started_by == member
    async with aiohttp.ClientSession() as visitor:
        status, page = await get(visitor, world, f"/projects/{project.uuid}")
    assert status == 200 and "Chen Li" in page.split('data-field="starter"', 1)[1].split("</span>", 1)[0]
    status, page = await get(chen, chapter, "/projects")
    sent = page.split('id="above-sent"', 1)[1]
    assert "Open the books" in sent and 'data-answer="accepted"' in sent and above_page(project.id) in sent
    return project


async def _act(chen, chapter, project: store.Project, data: dict) -> str:
    page = above_page(project.id)
    status, text, _ = await press(chen, chapter, page, "/projects/above/act", {"project": project.id, **data})
    assert status == 200, text[:500]
    return text


async def joins_writes_signs_and_withdraws(chen, chapter, world, member: str, project: store.Project) -> None:
    await _act(chen, chapter, project, {"act": "join"})
    await eventually(lambda: store.is_member(world.db.reader, project.id, member), timeout=20)
    draft_id = await writes_and_revises(chen, chapter, world, project)
    page = await _act(chen, chapter, project, {"act": "sign", "draft": draft_id})
    await eventually(lambda: store.has_signed(world.db.reader, draft_id, member), timeout=20)
    page = await _act(chen, chapter, project, {"act": "withdraw", "draft": draft_id})

    async def withdrawn():
        return not await store.has_signed(world.db.reader, draft_id, member)

    await eventually(withdrawn, timeout=20)
    status, page, _ = await press(
        chen, chapter, above_page(project.id), "/projects/above/reply", {"project": project.id, "content": ""}
    )
    assert status == 400 and "the reply is empty" in page
    status, page, _ = await press(
        chen, chapter, above_page(project.id), "/projects/above/reply", {"project": project.id, "content": "Agreed."}
    )
    assert status == 200

    async def replied():
        _, text = await get(chen, chapter, above_page(project.id))
        thread = text.split('id="thread-heading"', 1)[1].split("</section>", 1)[0]
        return "Agreed." in thread and "Chen Li" in thread and text

    page = await eventually(replied, timeout=20)
    sent = page.split('id="sent-heading"', 1)[1]
    for words in ("take part", "a new draft", "a revision", "sign a draft", "withdraw a signature", "a reply"):
        assert words in sent, words
    assert "sent to IOPS World" in sent and 'data-answer="accepted"' in sent


async def writes_and_revises(chen, chapter, world, project: store.Project) -> str:
    write = f"/projects/above/write?project={quote(project.id, safe='')}"
    status, page, _ = await press(
        chen, chapter, write, "/projects/above/write", {"project": project.id, "title": "Books", "text": ""}
    )
    assert status == 400 and "the text is empty" in page and 'value="Books"' in page
    draft = {"project": project.id, "title": "Open books", "text": "Every account, every year."}
    status, page, _ = await press(chen, chapter, write, "/projects/above/write", draft)
    assert status == 200

    async def written():
        drafts = await store.drafts_of(world.db.reader, project.id)
        return drafts[0] if drafts else None

    draft_id = (await eventually(written, timeout=20)).id

    async def listed():
        _, text = await get(chen, chapter, above_page(project.id))
        return "Open books" in text.split('id="drafts-heading"', 1)[1].split("</section>", 1)[0] and text

    page = await eventually(listed, timeout=20)
    revise = f"/projects/above/write?draft={quote(draft_id, safe='')}"
    assert revise in page.replace("&amp;", "&")
    status, form = await get(chen, chapter, revise)
    assert status == 200 and 'value="Open books"' in form and "Every account, every year." in form
    revised = {"project": project.id, "draft": draft_id, "title": "Open books", "text": "Every account, every month."}
    status, page, _ = await press(chen, chapter, revise, "/projects/above/write", revised)
    assert status == 200

    async def revision_two():
        found = await store.get_draft(world.db.reader, draft_id)
        return found is not None and found.revision == 2 and found.text == "Every account, every month."

    await eventually(revision_two, timeout=20)
    return draft_id


async def reads_it_in_chinese(chen, chapter, project: store.Project) -> None:
    status, page = await get(chen, chapter, "/projects", "zh-Hans")
    assert status == 200 and "IOPS World的项目" in page and "在IOPS World发起项目" in page
    status, page = await get(chen, chapter, above_page(project.id), "zh-Hans")
    assert status == 200 and "你就此项目发出的内容" in page and "已接受" in page


async def test_a_refusal_shows_with_its_reason_and_only_the_node_asked_answers(make_node, tmp_path):
    nodes = await build(make_node, tmp_path)
    world, region, chapter = nodes["world"], nodes["region"], nodes["chapter"]
    charter = await wanda_starts(world)
    async with browser_like_session() as chen:
        member = await approved_account(chen, chapter, "chen", "Chen Li")
        typed = {"level": "http://127.0.0.1:1/users/elsewhere", "title": "T", "aim": "A", "default": "disband"}
        status, page, _ = await press(chen, chapter, "/projects", "/projects/above/new", typed)
        assert status == 400 and "choose one of the levels above" in page and 'value="T"' in page
        page_of_charter = above_page(charter.id)
        data = {"project": charter.id, "content": "First."}
        assert (await press(chen, chapter, page_of_charter, "/projects/above/reply", data))[0] == 200
        reply = (await above_acts.of_member(chapter.db.reader, member))[0]
        assert reply.kind == "reply" and reply.answer is None
        forged = answer(region, reply.activity_id, "forged", "no")
        assert (await post_signed_as(region, f"{member}/inbox", forged))[0] == 202
        assert "answered an activity sent to" in await inbox_error(chapter, forged["id"], "dead")
        refusal = answer(world, reply.activity_id, "refusal", "<p>Replies are <em>closed</em> here.</p>")
        assert (await post_signed_as(world, f"{member}/inbox", refusal))[0] == 202
        await inbox_error(chapter, refusal["id"], "done")
        kept = await above_acts.get(chapter.db.reader, reply.activity_id)
        assert kept is not None and kept.answer == "refused" and kept.reason == "Replies are closed here."
        status, page = await get(chen, chapter, page_of_charter)
        sent = page.split('id="sent-heading"', 1)[1]
        assert 'data-answer="refused"' in sent and "refused: Replies are closed here." in sent
        status, page = await get(chen, chapter, page_of_charter, "zh-Hans")
        assert "已拒绝：Replies are closed here." in page


def answer(node, activity_id: str, name: str, reason: str) -> dict:
    return {
        "id": f"{node.base_url}/activities/{name}-{activity_id.rsplit('/', 1)[-1]}",
        "type": "Reject",
        "actor": node.actor_id,
        "object": activity_id,
        "content": reason,
    }


async def inbox_error(node, activity_id: str, state: str) -> str:
    async def reached():
        row = await fetch_one(
            node.db.reader, "SELECT state, last_error FROM inbox_items WHERE activity_id = ?", (activity_id,)
        )
        return row is not None and row["state"] == state and (row["last_error"] or "ok")

    return await eventually(reached, timeout=20)


async def test_a_level_that_cannot_be_reached_says_so(make_node, tmp_path):
    nodes = await build(make_node, tmp_path)
    world, chapter = nodes["world"], nodes["chapter"]
    charter = await wanda_starts(world)
    async with browser_like_session() as chen:
        await approved_account(chen, chapter, "chen", "Chen Li")
        status, page = await get(chen, chapter, "/projects")
        assert status == 200 and "A charter for all" in page
        await world.stop()
        chapter.app[above.ABOVE_CACHE].forget()
        status, page = await get(chen, chapter, "/projects")
        assert status == 200 and "IOPS World could not be reached now." in page
        assert "Projects of IOPS Region" in page and "Start a project at IOPS Region" in page
        status, page = await get(chen, chapter, above_page(charter.id))
        assert status == 200 and 'data-field="unreachable"' in page
        status, page = await get(chen, chapter, above_page("http://127.0.0.1:1/objects/elsewhere"))
        assert status == 404
