"""A remote member on the pages: by name and handle, never by the raw actor URL.

The remote actor cache normally holds a member's actor document (the admin's Add fetches it, a
Join's sender is fetched by the inbox). When it does not (here: the cached row is gone before the
admin approves the Join), the home page's newest members and ``/members`` show ``@user@host``
made from the actor id, without fetching anything.
"""

from __future__ import annotations

import aiohttp

from tests.support.c2s import publish


async def _page(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url, headers={"Accept": "text/html"}) as response:
        assert response.status == 200, response.status
        return await response.text()


def _section(page: str, heading: str) -> str:
    return page.split(heading, 1)[1].split("</section>", 1)[0]


async def test_a_remote_member_whose_actor_is_not_cached_shows_as_a_handle(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")

    join = alice.activity("Join", london.actor_id)
    assert (await alice.post(london.inbox, join))[0] == 202
    await london.settle()
    async with london.db.transaction() as conn:  # the cache lost alice's actor document
        await conn.execute("DELETE FROM remote_actors WHERE id = ?", (alice.id,))
    status, result, _ = await publish(london, {"type": "Accept", "object": join["id"]})
    assert status == 201, result
    status, result, _ = await publish(london, {"type": "Add", "object": bob.id, "target": f"{london.actor_id}/members"})
    assert status == 201, result

    home = await _page(f"{london.base_url}/")
    newest = _section(home, "Newest members")
    alice_handle = f"@alice@{alice.base.split('://', 1)[1]}"
    assert alice_handle in newest and "bob" in newest, newest  # bob by his cached preferredUsername
    assert alice.id not in home and bob.id not in home

    listed = await _page(f"{london.base_url}/members")
    assert alice_handle in listed and f"@bob@{bob.base.split('://', 1)[1]}" in listed
    assert alice.id not in listed and bob.id not in listed
