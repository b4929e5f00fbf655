"""What the composers refuse, and a refused tally's reason, on the pages in the reader's language.

The poll form and ``/decisions/new`` show the composers' own refusals (``node.polls.outbound``,
``node.decisions.proposal.parse_policy``) in Chinese to a Chinese reader. A region issues a decision to the chapter below it, a scripted hostile Group
(:class:`tests.support.hostile.HostileGroup`) whose tally claims more voters than its leaves show.
The region refuses it; its proposal page and ``/results`` say why, in English and in Chinese (the
reason is kept as a message beside its English text, and each part of it is translated), while
the JSON at ``/results`` keeps the English reason that travels.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from node.core.clock import FrozenClock, iso
from node.decisions import received
from tests.support.c2s import eventually, get_json, publish
from tests.support.forms import post_form
from tests.support.hostile import HostileGroup, random_entries
from tests.support.nodes import ADMIN_TOKEN
from tests.support.tree import tree_config, tree_of

MEMBERS = 4


@pytest.fixture
async def hostile():
    group = await HostileGroup("mallory", "chapter").start()
    yield group
    await group.stop()


async def _page(url: str, language: str) -> str:
    headers = {"Accept": "text/html", "Accept-Language": language}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, response.status
        return await response.text()


async def _reported(region, hostile: HostileGroup) -> bool:
    tree = await tree_of(region)
    return any(c["id"] == hostile.actor_id() and c.get("report") for c in tree["children"])


async def _lying_tally_refused(make_node, tmp_path, hostile: HostileGroup):
    clock = FrozenClock()
    region = await make_node(
        config=tree_config(tmp_path, "europe", "region", accept_children_from=(hostile.host,)), clock=clock
    )
    await hostile.join(region)
    assert (await hostile.report(region, MEMBERS))[0] == 202
    await eventually(lambda: _reported(region, hostile), timeout=15)
    end = clock.now() + timedelta(minutes=5)
    status, issued, _ = await publish(
        region,
        {
            "type": "Question",
            "content": "<p>Adopt the charter?</p>",
            "oneOf": ["agree", "disagree"],
            "endTime": iso(end),
            "decision": {"passThreshold": 0.5, "tallyDeadline": iso(end + timedelta(minutes=2))},
        },
    )
    assert status == 201, issued
    pid = issued["object"]

    async def offered() -> dict | None:
        offers = [o["object"] for o in hostile.of_type("Offer") if isinstance(o.get("object"), dict)]
        return next((o for o in offers if o.get("id") == pid), None)

    prop = await eventually(offered, timeout=15)
    assert (await hostile.add(region, hostile.roll(pid, random_entries(MEMBERS))))[0] == 202
    clock.advance(minutes=5, seconds=1)
    fields, _ = hostile.honest_tally(prop, [{pid: ["disagree"]}] * 2, roll_size=MEMBERS)
    assert (await hostile.add(region, hostile.tally(pid, fields | {"voters": 3})))[0] == 202

    async def refused():
        kept = await received.get_tally(region.db.reader, pid, hostile.actor_id())
        return kept if kept is not None and kept["status"] == "refused" else None

    await eventually(refused, timeout=15)
    return region, pid


async def test_a_refused_tally_says_why_on_the_pages_in_the_readers_language(make_node, tmp_path, hostile):
    region, pid = await _lying_tally_refused(make_node, tmp_path, hostile)
    uuid = pid.rsplit("/", 1)[-1]

    english = await _page(f"{region.base_url}/decisions/{uuid}", "en-GB")
    assert "Why the tally was refused: 3 voters claimed, the leaves show 2" in english
    chinese = await _page(f"{pid}/results", "zh-CN")
    assert "计票被拒绝的原因：声称有 3 名投票人，叶子显示为 2 名" in chinese
    assert "voters claimed" not in chinese
    chinese = await _page(f"{region.base_url}/decisions/{uuid}", "zh-CN")
    assert "计票被拒绝的原因：声称有 3 名投票人，叶子显示为 2 名" in chinese

    status, as_json = await get_json(f"{pid}/results", accept="application/json")
    assert status == 200, as_json
    branch = next(b for b in as_json["branches"] if b["id"] == hostile.actor_id())
    assert branch["status"] == "refused" and branch["reason"] == "3 voters claimed, the leaves show 2"


async def _alert(session, node, path: str, form: dict) -> str:
    status, page, _ = await post_form(session, node, path, form)
    assert status == 400, status
    return page.split('role="alert">', 1)[1].split("</p>", 1)[0]


async def test_the_composers_refusals_are_shown_in_chinese(make_node, tmp_path, hostile):
    region, _pid = await _lying_tally_refused(make_node, tmp_path, hostile)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Accept-Language": "zh-CN"}) as admin:
        assert (await post_form(admin, region, "/login/admin", {"token": ADMIN_TOKEN}))[0] == 200
        poll = {"content": "野餐还是酒吧？", "kind": "oneOf", "closes": "2099-05-01T18:00"}
        said = await _alert(admin, region, "/polls/new", poll | {"options": "野餐\n野餐"})
        assert said == "选项名称不能重复（投票时以名称指明选项）", said
        said = await _alert(admin, region, "/polls/new", poll | {"options": "野餐\n酒吧", "closes": "2001-05-01T18:00"})
        assert said.startswith("endTime 2001-05-01T18:00:00") and said.endswith("不是将来的时间"), said
        decision = {
            "questions": "1",
            "q1_content": "通过章程吗？",
            "q1_options": "同意\n反对",
            "q1_kind": "oneOf",
            "closes": "2099-05-01T18:00",
            "tally_deadline": "2099-05-01T17:00",
        }
        said = await _alert(admin, region, "/decisions/new", decision)
        assert said == "decision.tallyDeadline 必须是带时区的日期和时间，且晚于 endTime", said
        survey = decision | {"tally_deadline": "", "title": "调查", "questions": "2", "q2_content": "问题二"}
        survey |= {"q2_options": "\n".join(["同一个"] * 2)}
        said = await _alert(admin, region, "/decisions/new", survey)
        assert said == "选项名称不能重复（投票时以名称指明选项）", said
