"""The projects' pages as members use them: start, join, write, revise, compare, sign, withdraw.

One real node on loopback; members sign up on ``/join`` and sign in (``tests.support.accounts``),
forms carry their CSRF token as a browser's do. What is checked is what a member would look at:
the pages' words, and the project's Article served at its id to a fediverse server.
"""

from __future__ import annotations

import re
from dataclasses import replace

import aiohttp

from node.core.config import ProjectsConfig
from tests.support.accounts import approved_account
from tests.support.forms import browser_like_session, form_token, post_form
from tests.support.nodes import ADMIN_TOKEN, node_config

AP = "application/activity+json"


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, headers={"Accept": "text/html"}) as response:
        return response.status, await response.text()


async def _press(session, node, page: str, action: str, data: dict | None = None) -> tuple[int, str, str]:
    """Press the button of the form posting to ``action`` on ``page``: status, text, final URL path."""
    status, text = await _get(session, f"{node.base_url}{page}")
    assert status == 200, (status, page)
    token = form_token(text, action)
    assert token, f"no form posting to {action} on {page}"
    url = action if action.startswith("http") else f"{node.base_url}{action}"
    async with session.post(
        url, data={"csrf_token": token, **(data or {})}, headers={"Accept": "text/html"}
    ) as response:
        return response.status, await response.text(), response.url.path


async def _start(session, node, title: str, aim: str, default: str) -> tuple[int, str, str]:
    return await _press(
        session, node, "/projects/new", "/projects/new", {"title": title, "aim": aim, "default": default}
    )


def _section(page: str, heading_id: str) -> str:
    return page.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


async def test_members_start_a_project_write_revise_compare_and_sign(make_node):
    node = await make_node("london")
    async with browser_like_session() as ada, browser_like_session() as bea, browser_like_session() as visitor:
        await approved_account(ada, node, "ada", "Ada Lovelace")
        await approved_account(bea, node, "bea", "Bea Wong")

        status, page, path = await _start(ada, node, "Our statutes", "Rewrite the statutes.\n\nTogether.", "no change")
        assert status == 200 and path.startswith("/projects/"), (status, path)
        assert "Our statutes" in page and "Rewrite the statutes." in page and "no change" in page
        assert "Ada Lovelace" in _section(page, "members-heading")
        project_page = path

        listed = (await _get(visitor, f"{node.base_url}/projects"))[1]
        assert "Our statutes" in listed and "Start a project" not in listed
        assert "Our statutes" in (await _get(visitor, f"{node.base_url}/"))[1]  # the home page's open projects

        status, page, _ = await _press(bea, node, project_page, f"{project_page}/join")
        members = _section(page, "members-heading")
        assert "Ada Lovelace" in members and "Bea Wong" in members and "Leave the project" in members

        status, page, draft_path = await _press(
            bea, node, f"{project_page}/drafts/new", f"{project_page}/drafts/new",
            {"title": "Draft A", "text": "Members meet every month.\n\nThe board is elected."},
        )  # fmt: skip
        assert status == 200 and draft_path.startswith("/drafts/"), (status, draft_path)
        assert "Members meet every month." in page
        for text in (
            "Members meet every week.\n\nThe board is elected.",
            "Members meet every week.\n\nThe board is drawn by lot.",
        ):
            status, page, _ = await _press(
                bea, node, f"{draft_path}/edit", f"{draft_path}/edit", {"title": "Draft A", "text": text}
            )
            assert status == 200, page
        revisions = _section(page, "revisions-heading")
        assert revisions.count("Bea Wong") == 3 and "Revision 3" in revisions
        assert "drawn by lot" in page

        status, first = await _get(visitor, f"{node.base_url}{draft_path}/revisions/1")
        assert status == 200 and "every month" in first and "drawn by lot" not in first
        status, changes = await _get(visitor, f"{node.base_url}{draft_path}/diff?from=1&to=3")
        assert status == 200
        assert "<del>month.</del>" in changes and "<ins>week.</ins>" in changes
        assert re.search(r"<del>elected\.</del><ins>drawn by lot\.</ins>", changes), changes

        status, page, _ = await _press(ada, node, draft_path, f"{draft_path}/sign")
        assert "1 signatory" in _section(page, "signatories-heading") and "Ada Lovelace" in page
        status, page, _ = await _press(bea, node, draft_path, f"{draft_path}/sign")
        assert "2 signatories" in _section(page, "signatories-heading")
        status, page, _ = await _press(ada, node, draft_path, f"{draft_path}/withdraw")
        signed = _section(page, "signatories-heading")
        assert "1 signatory" in signed and "Bea Wong" in signed and "Ada Lovelace" not in signed
        project = (await _get(visitor, f"{node.base_url}{project_page}"))[1]
        assert "Draft A" in project and "1 signatory" in project and "3 revisions" in project

        # a comment on the draft, from its page, through the existing reply route
        draft_id = f"{node.base_url}/objects/{draft_path.rsplit('/', 1)[1]}"
        status, page, path = await _press(ada, node, draft_path, f"{draft_id}/reply", {"content": "I like the lot."})
        assert path == draft_path and "I like the lot." in _section(page, "thread-heading")

        # the Articles at their ids, for a fediverse server
        project_id = f"{node.base_url}/objects/{project_page.rsplit('/', 1)[1]}"
        async with visitor.get(project_id, headers={"Accept": AP}) as response:
            article = await response.json(content_type=None)
        assert article["type"] == "Article" and article["name"] == "Our statutes"
        assert "Rewrite the statutes." in article["content"] and article["url"] == f"{node.base_url}{project_page}"
        async with visitor.get(draft_id, headers={"Accept": AP}) as response:
            draft = await response.json(content_type=None)
        assert draft["inReplyTo"] == project_id and draft["context"] == project_id
        assert "drawn by lot" in draft["content"] and draft.get("updated")
        status, page = await _get(visitor, project_id)  # a browser at the id lands on the page
        assert status == 200 and "Our statutes" in page and "Members of the project" in page


async def test_visitors_cannot_act_and_refusals_keep_what_was_typed(make_node):
    node = await make_node("london")
    async with browser_like_session() as ada, browser_like_session() as visitor:
        await approved_account(ada, node, "ada", "Ada Lovelace")
        async with visitor.get(f"{node.base_url}/projects/new", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"].startswith("/login")
        async with visitor.post(
            f"{node.base_url}/projects/new", data={"title": "x"}, allow_redirects=False
        ) as response:
            assert response.status in (303, 403)

        status, page, path = await _start(ada, node, "   ", "An aim & <more>", "disband")
        assert status == 400 and path == "/projects/new"
        assert "a title is needed" in page and "An aim &amp; &lt;more&gt;" in page and "disband" in page

        status, page, path = await _start(ada, node, "Fine", "An aim", "no change")
        project_page = path
        async with visitor.post(f"{node.base_url}{project_page}/join", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"].startswith("/login")
        status, page, _ = await _press(
            ada, node, f"{project_page}/drafts/new", f"{project_page}/drafts/new", {"title": "", "text": "typed"}
        )
        assert status == 400 and "a title is needed" in page and ">typed</textarea>" in page

        # what members type is text, never markup: on the page, in the diff, in the Article
        status, page, draft_path = await _press(
            ada, node, f"{project_page}/drafts/new", f"{project_page}/drafts/new",
            {"title": "<b>Bold</b>", "text": "keep <script>alert(1)</script> this"},
        )  # fmt: skip
        assert status == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
        await _press(
            ada, node, f"{draft_path}/edit", f"{draft_path}/edit", {"title": "<b>Bold</b>", "text": "keep <i>this</i>"}
        )
        status, changes = await _get(visitor, f"{node.base_url}{draft_path}/diff?from=1&to=2")
        assert (
            "<del>&lt;script&gt;alert(1)&lt;/script&gt; this</del>" in changes
            and "<ins>&lt;i&gt;this&lt;/i&gt;</ins>" in changes
        )
        assert (await _get(visitor, f"{node.base_url}{draft_path}/diff?from=1&to=9"))[0] == 404


async def test_with_approval_required_a_project_waits_for_the_admin(make_node, tmp_path):
    config = node_config(tmp_path, "london")
    config = replace(config, projects=ProjectsConfig(approval_required=True))
    node = await make_node("london", config=config)
    async with browser_like_session() as ada, browser_like_session() as admin, browser_like_session() as visitor:
        await approved_account(ada, node, "ada", "Ada Lovelace")
        status, page, project_page = await _start(ada, node, "Waiting one", "An aim", "no change")
        assert status == 200 and "awaiting the admin" in page
        project_id = f"{node.base_url}/objects/{project_page.rsplit('/', 1)[1]}"
        assert (await _get(visitor, f"{node.base_url}{project_page}"))[0] == 404
        assert "Waiting one" not in (await _get(visitor, f"{node.base_url}/projects"))[1]
        async with visitor.get(project_id, headers={"Accept": AP}) as response:
            assert response.status == 404  # nothing published yet

        status, _, _ = await post_form(admin, node, "/login/admin", {"token": ADMIN_TOKEN})
        assert status == 200
        dashboard = (await _get(admin, f"{node.base_url}/admin"))[1]
        assert "Projects awaiting approval" in dashboard and "Waiting one" in dashboard
        status, page, _ = await _press(admin, node, project_page, f"{project_page}/approve")
        assert status == 200 and "open: drafts are written" in page

        status, page = await _get(visitor, f"{node.base_url}{project_page}")
        assert status == 200 and "Waiting one" in page
        async with visitor.get(project_id, headers={"Accept": AP}) as response:
            article = await response.json(content_type=None)
        assert article["name"] == "Waiting one" and article["id"] == project_id
