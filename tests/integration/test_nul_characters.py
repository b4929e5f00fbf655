"""A NUL character, which PostgreSQL's text and jsonb cannot hold, never breaks a node on either store.

A post whose text carries U+0000 (as a JSON escape) is kept, and the pages and collections that read
stored documents as JSON (the home page's listings) still answer; a path with a NUL finds nothing.
"""

from __future__ import annotations

import aiohttp

from tests.support.c2s import get_json, publish


async def test_a_post_with_a_nul_is_kept_and_every_page_still_answers(make_node):
    node = await make_node("london")
    status, body, _ = await publish(
        node, {"type": "Note", "content": "<p>before\u0000after</p>", "summary": "a\u0000b", "postKind": "news"}
    )
    assert status == 201, body
    status, note = await get_json(body["object"])
    assert status == 200 and note["content"].startswith("<p>before") and note["content"].endswith("after</p>")
    async with aiohttp.ClientSession() as session:
        for path in ("/", "/news", "/blog", "/events", "/feed.atom", "/objects/%00"):
            async with session.get(node.base_url + path) as response:
                assert response.status < 500, (path, response.status, await response.text())
