"""Two real nodes on loopback: follow, accept, post, edit, delete, unfollow."""

from __future__ import annotations

from tests.support.c2s import eventually, get_json, publish, read_inbox


async def _types(node) -> list[str]:
    return [item["type"] for item in await read_inbox(node)]


async def test_chapter_follows_chapter_and_hears_post_edit_delete(make_node):
    london = await make_node("london")
    bristol = await make_node("bristol")

    # bristol follows london through its outbox; london accepts automatically.
    status, result, location = await publish(bristol, {"type": "Follow", "object": london.actor_id})
    assert status == 201 and location == result["id"]
    follow_id = result["id"]

    async def follower_listed():
        _, page = await get_json(f"{london.actor_id}/followers?page=1")
        return bristol.actor_id in page.get("orderedItems", [])

    await eventually(follower_listed)

    async def following_accepted():
        _, collection = await get_json(f"{bristol.actor_id}/following")
        return collection["totalItems"] == 1

    await eventually(following_accepted)
    accept = next(a for a in await read_inbox(bristol) if a["type"] == "Accept")
    assert accept["actor"] == london.actor_id and accept["object"]["id"] == follow_id  # the whole Follow is embedded

    # london posts; the Create reaches bristol, and the Note is served at its id.
    status, result, _ = await publish(london, {"type": "Note", "content": "<p>Book fair on Saturday</p>"})
    assert status == 201
    note_id = result["object"]
    await eventually(lambda: _has(bristol, "Create", note_id))
    status, note = await get_json(note_id)
    assert status == 200 and note["content"] == "<p>Book fair on Saturday</p>"

    # an edit arrives as an Update with `updated`.
    status, result, _ = await publish(
        london, {"type": "Update", "object": {"id": note_id, "content": "<p>Book fair moved to Sunday</p>"}}
    )
    assert status == 201
    update = await eventually(lambda: _has(bristol, "Update", note_id))
    assert update["object"]["content"] == "<p>Book fair moved to Sunday</p>" and "updated" in update["object"]

    # a delete arrives, and the old id answers 410 with a Tombstone.
    status, result, _ = await publish(london, {"type": "Delete", "object": note_id})
    assert status == 201
    await eventually(lambda: _has(bristol, "Delete", note_id))
    status, tombstone = await get_json(note_id)
    assert status == 410 and tombstone["type"] == "Tombstone" and tombstone["formerType"] == "Note"

    # bristol unfollows; london's followers collection empties.
    status, _, _ = await publish(bristol, {"type": "Undo", "object": follow_id})
    assert status == 201

    async def follower_gone():
        _, collection = await get_json(f"{london.actor_id}/followers")
        return collection["totalItems"] == 0

    await eventually(follower_gone)


async def _has(node, kind: str, object_id: str):
    for activity in await read_inbox(node):
        obj = activity.get("object")
        if activity["type"] == kind and (obj == object_id or (isinstance(obj, dict) and obj.get("id") == object_id)):
            return activity
    return None
