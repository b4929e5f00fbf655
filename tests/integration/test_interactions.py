"""Replies, likes and boosts from the fediverse: kept as the post's thread, counted, taken back.

Senders are a scriptable remote actor (a real server with its own key) and a bovine peer
(an independent implementation that signs with its own code). The node runs without
background workers and is stepped with ``settle()``.
"""

from __future__ import annotations

from federation.jsonld import undefined_terms
from node.content import events
from node.core import inbox_items as inbox_store
from tests.support.c2s import get_json, publish
from tests.support.content import inbox_outcome

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _post(node) -> str:
    status, result, _ = await publish(
        node, {"type": "Note", "postKind": "news", "content": "<p>The book fair is on Saturday.</p>"}
    )
    assert status == 201, result
    return result["object"]


def _reply(author_id: str, reply_id: str, parent: str, content: str, **extra) -> dict:
    return {
        "id": reply_id,
        "type": "Note",
        "attributedTo": author_id,
        "inReplyTo": parent,
        "content": content,
        "published": "2026-11-27T10:00:00Z",
        "to": [PUBLIC],
        **extra,
    }


async def _send(node, actor, activity) -> str:
    status, body = await actor.post(node.inbox, activity)
    assert status == 202, body
    await node.settle()
    return activity["id"]


async def _served(object_id: str) -> dict:
    status, document = await get_json(object_id)
    assert status == 200, document
    return document


async def _thread(object_id: str) -> list[dict]:
    status, page = await get_json(f"{object_id}/replies?page=1")
    assert status == 200, page
    return page.get("orderedItems", [])


async def test_replies_from_two_implementations_make_the_thread(make_node, remote_actor, bovine_peer):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    bob = await bovine_peer("bob")
    note_id = await _post(london)

    alice_reply = alice.new_id("notes")
    create = alice.activity(
        "Create", _reply(alice.id, alice_reply, note_id, "<p>See you <em>there</em></p><script>alert(1)</script>")
    )
    await _send(london, alice, create)
    await _send(london, alice, {**create, "id": alice.new_id()})  # the same reply again: kept once
    bob_reply = f"{bob.base_url}/objects/reply-1"
    sent = await bob.send(
        london.inbox,
        {
            "type": "Create",
            "to": [PUBLIC],
            "object": _reply(bob.actor_id, bob_reply, note_id, "<p>I'll bring books</p>"),
        },
    )
    assert sent["status"] == 202, sent
    await london.settle()
    private = alice.new_id("notes")  # a direct reply is kept for the admin, not shown
    await _send(
        london, alice, alice.activity("Create", _reply(alice.id, private, note_id, "<p>psst</p>", to=[london.actor_id]))
    )

    note = await _served(note_id)
    assert note["replies"]["totalItems"] == 2 and note["replies"]["id"] == f"{note_id}/replies"
    assert undefined_terms(note) == []
    thread = await _thread(note_id)
    assert [r["id"] for r in thread] == [alice_reply, bob_reply]
    assert thread[0]["content"] == "<p>See you <em>there</em></p>"  # sanitised on the way in
    assert thread[0]["attributedTo"] == alice.id and thread[0]["inReplyTo"] == note_id
    status, collection = await get_json(f"{note_id}/replies")
    assert status == 200 and collection["type"] == "OrderedCollection" and collection["totalItems"] == 2

    # the author edits, then deletes, their reply; someone else cannot delete it
    await _send(london, alice, alice.activity("Update", _reply(alice.id, alice_reply, note_id, "<p>See you at 10</p>")))
    assert (await _thread(note_id))[0]["content"] == "<p>See you at 10</p>"
    mallory = await remote_actor("mallory")
    await _send(london, mallory, mallory.activity("Delete", alice_reply))
    assert (await _served(note_id))["replies"]["totalItems"] == 2
    await _send(london, alice, alice.activity("Delete", {"id": alice_reply, "type": "Tombstone"}))
    assert [r["id"] for r in await _thread(note_id)] == [bob_reply]


async def test_likes_and_boosts_are_counted_once_and_undone(make_node, remote_actor, bovine_peer):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    bob = await bovine_peer("bob")
    note_id = await _post(london)

    like = alice.activity("Like", note_id)
    await _send(london, alice, like)
    await _send(london, alice, alice.activity("Like", note_id))  # a second like by alice: still one
    sent = await bob.send(london.inbox, {"type": "Like", "object": note_id})
    assert sent["status"] == 202, sent
    boost = alice.activity("Announce", note_id, to=[PUBLIC])
    await _send(london, alice, boost)
    await london.settle()
    note = await _served(note_id)
    assert (note["likes"]["totalItems"], note["shares"]["totalItems"]) == (2, 1)
    assert (await get_json(f"{note_id}/likes"))[1]["totalItems"] == 2
    assert (await get_json(f"{note_id}/shares"))[1]["totalItems"] == 1

    await _send(london, alice, alice.activity("Undo", like))
    sent = await bob.send(london.inbox, {"type": "Undo", "object": sent["activity"]})
    assert sent["status"] == 202, sent
    await _send(london, alice, alice.activity("Undo", boost))
    note = await _served(note_id)
    assert (note["likes"]["totalItems"], note["shares"]["totalItems"]) == (0, 0)


async def test_a_deleted_account_takes_its_replies_and_likes_with_it(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    note_id = await _post(london)
    await _send(london, alice, alice.activity("Create", _reply(alice.id, alice.new_id("notes"), note_id, "<p>hi</p>")))
    await _send(london, alice, alice.activity("Like", note_id))
    _, event, _ = await publish(london, {"type": "Event", "name": "Talk", "startTime": "2026-12-05T10:00:00Z"})
    await _send(london, alice, alice.activity("Accept", event["object"]))
    assert await events.answer_of(london.db.reader, event["object"], alice.id) == "going"
    alice.gone = True
    await _send(london, alice, alice.activity("Delete", alice.id))
    note = await _served(note_id)
    assert (note["replies"]["totalItems"], note["likes"]["totalItems"]) == (0, 0)
    assert await events.answer_of(london.db.reader, event["object"], alice.id) is None


async def test_a_forged_cross_host_reply_is_refused_with_the_reason(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    note_id = await _post(london)

    # alice's server claims a Note whose id is on bob's host: refused at the door, nothing stored
    forged = alice.activity("Create", _reply(alice.id, bob.new_id("notes"), note_id, "<p>I am bob</p>"))
    status, body = await alice.post(london.inbox, forged)
    assert status == 400 and "not on its actor's host" in body["error"], body
    assert await inbox_store.get_by_activity_id(london.db.reader, forged["id"]) is None
    # ... or attributes her Note to bob
    misattributed = await _send(
        london, alice, alice.activity("Create", _reply(bob.id, alice.new_id("notes"), note_id, "<p>I am bob</p>"))
    )
    state, error = await inbox_outcome(london, misattributed)
    assert state == "dead" and "attributed" in error, error
    assert (await _served(note_id))["replies"]["totalItems"] == 0


async def test_collections_of_hidden_or_deleted_objects_are_not_served(make_node):
    london = await make_node("london", start_workers=False)
    _, hidden, _ = await publish(
        london, {"type": "Note", "content": "<p>x</p>", "to": [f"{london.actor_id}/followers"]}
    )
    status, body = await get_json(f"{hidden['object']}/replies")
    assert status == 404 and "public" in body["error"]
    note_id = await _post(london)
    await publish(london, {"type": "Delete", "object": note_id})
    status, body = await get_json(f"{note_id}/likes")
    assert status == 410 and "deleted" in body["error"]
    status, body = await get_json(f"{london.base_url}/objects/nothing-here/shares")
    assert status == 404


async def test_news_and_blog_posts_are_notes_with_their_kind_and_the_whole_text(make_node):
    london = await make_node("london", start_workers=False)
    long_text = "".join(f"<p>Paragraph {i} of a long blog post.</p>" for i in range(200))
    status, result, location = await publish(london, {"type": "Note", "postKind": "blog", "content": long_text})
    assert status == 201, result
    blog = await _served(result["object"])
    assert blog["type"] == "Note" and blog["postKind"] == "blog"
    assert blog["content"] == long_text and blog["url"] == result["object"]
    assert undefined_terms(blog) == []
    create = await _served(location)
    assert create["object"]["postKind"] == "blog" and undefined_terms(create) == []
    status, _, update_location = await publish(
        london, {"type": "Update", "object": {"id": result["object"], "content": "<p>Shorter now.</p>"}}
    )
    assert status == 201
    update = await _served(update_location)
    assert update["object"]["postKind"] == "blog" and update["object"]["updated"] and undefined_terms(update) == []

    status, body, _ = await publish(london, {"type": "Note", "postKind": "gossip", "content": "<p>x</p>"})
    assert status == 400 and "postKind" in body["error"]
    plain = await _served((await publish(london, {"type": "Note", "content": "<p>plain</p>"}))[1]["object"])
    assert "postKind" not in plain and undefined_terms(plain) == []
