"""A refused link request on the admin's dashboard: its reason in the reader's language, each branch
by its display name and place, never a raw actor URL.

London (a chapter) is linked below Europe (a region). Europe then asks London to be its parent
(a Join signed with Europe's key, sent to London's inbox): London refuses it at once, a cycle.
Paris asks Europe and Europe's admin rejects it without a word. Each dashboard lists the refusal
with its reason in Chinese for a Chinese reader; ``/admin/children`` keeps the English text (what
the Reject's ``content`` said).
"""

from __future__ import annotations

import html

import aiohttp

from tests.support.c2s import eventually
from tests.support.forms import post_form
from tests.support.nodes import ADMIN_TOKEN
from tests.support.tree import admin_children, answer, link, post_signed_as, tree_config, wait_linked


async def _pending_join(parent, child) -> str:
    async def listed():
        return [entry["join"] for entry in (await admin_children(parent))["pending"] if entry["id"] == child.actor_id]

    return (await eventually(listed))[0]


async def _refused(node, join_id: str) -> dict:
    async def listed():
        return [entry for entry in (await admin_children(node))["refused"] if entry["join"] == join_id]

    return (await eventually(listed))[0]


async def _dashboard_panel(node, language: str) -> str:
    """The branch tree's panel of the admin's dashboard, as text (tags dropped)."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Accept-Language": language}) as admin:
        assert (await post_form(admin, node, "/login/admin", {"token": ADMIN_TOKEN}))[0] == 200
        async with admin.get(f"{node.base_url}/admin") as response:
            assert response.status == 200, response.status
            page = await response.text()
    panel = page.split('<span id="branches"></span>', 1)[1].split("</section>", 1)[0]
    text = "".join(part.split(">", 1)[-1] for part in panel.split("<"))
    return " ".join(html.unescape(text).split())


async def test_a_refused_link_request_shows_its_reason_in_chinese_with_the_branches_names(make_node, tmp_path):
    europe = await make_node(config=tree_config(tmp_path, "europe", "region", location="Brussels"))
    london = await make_node(config=tree_config(tmp_path, "london", "chapter", location="London"))
    paris = await make_node(config=tree_config(tmp_path, "paris", "chapter", location="Paris"))
    assert (await link(london, europe))[0] == 201
    assert (await answer(europe, await _pending_join(europe, london)))[0] == 201
    await wait_linked(london, europe)

    cycle = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{europe.base_url}/activities/cycle-join",
        "type": "Join",
        "actor": europe.actor_id,
        "object": london.actor_id,
    }
    assert (await post_signed_as(europe, london.inbox, cycle))[0] == 202
    refused = await _refused(london, cycle["id"])
    assert refused["reason"] == (
        "IOPS Europe (Brussels) is an ancestor of IOPS London (London): linking it below would make a cycle"
    )

    chinese = await _dashboard_panel(london, "zh-CN")
    assert "已拒绝 IOPS Europe Brussels IOPS Europe（Brussels） 位于 IOPS London（London） 的上层" in chinese, chinese
    assert europe.actor_id not in chinese and "http" not in chinese
    english = await _dashboard_panel(london, "en")
    assert refused["reason"] in english and "http" not in english, english

    status, _ = await link(paris, europe)
    assert status == 201
    join = await _pending_join(europe, paris)
    assert (await answer(europe, join, "Reject"))[0] == 201  # no content: the node says who declined
    assert (await _refused(europe, join))["reason"] == "the admin of IOPS Europe (Brussels) declined"
    chinese = await _dashboard_panel(europe, "zh-CN")
    assert "IOPS Paris Paris IOPS Europe（Brussels） 的管理员拒绝了" in chinese, chinese
    assert "http" not in chinese
