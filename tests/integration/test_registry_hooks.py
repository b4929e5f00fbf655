"""The registry's hooks on a real node: a room that registers its own migration, an
"after handled" hook and a relay rule, and a node that runs only the rooms it is given."""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web

from federation.activitystreams import PUBLIC, id_of
from node.core import vocabulary
from node.core.clock import to_epoch
from node.core.db import fetch_all
from node.core.migrations import Migration
from node.core.registry import Registry
from tests.support.c2s import get_json

SEEN = Migration(100, "a test room's table", "CREATE TABLE seen_creates (activity_id TEXT PRIMARY KEY, at REAL)")


async def _note_seen(ctx, activity: dict) -> None:
    await ctx.conn.execute(
        "INSERT INTO seen_creates (activity_id, at) VALUES (?, ?)", (activity["id"], to_epoch(ctx.now))
    )


async def _relay_public_notes(ctx, activity: dict) -> dict | None:
    note = activity.get("object")
    if activity.get("type") != "Create" or not isinstance(note, dict) or PUBLIC not in note.get("to", []):
        return None
    announce = vocabulary.announce(
        ctx.urls, actor=ctx.chapter_id, object_id=note["id"], followers=ctx.urls.followers(ctx.chapter), now=ctx.now
    )
    return {**announce, "id": ctx.urls.relayed_activity_id("Announce", note["id"])}


def _register(registry: Registry) -> None:
    registry.feature("relay-test", migrations=[SEEN])
    registry.after("Create", _note_seen)
    registry.relay_rules.append(_relay_public_notes)


def _setup(app: web.Application) -> None:
    """No routes and no background work."""


RELAY_ROOM = SimpleNamespace(register=_register, setup=_setup)


async def _followed_by(node, actor) -> None:
    status, _ = await actor.post(node.inbox, actor.activity("Follow", node.actor_id))
    assert status == 202
    await node.settle()
    actor.received.clear()


def _create(actor, note_id: str, to: list[str], create_id: str | None = None) -> dict:
    note = {"id": note_id, "type": "Note", "attributedTo": actor.id, "content": "<p>hello</p>", "to": to}
    return {**actor.activity("Create", note, to=to), **({"id": create_id} if create_id else {})}


async def test_a_room_hooks_after_handling_and_relays_each_post_once(make_node, remote_actor):
    node = await make_node("london", start_workers=False, features=(RELAY_ROOM,))
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    await _followed_by(node, bob)

    note_id = alice.new_id("notes")
    first = _create(alice, note_id, [PUBLIC])
    for body in (first, first, _create(alice, note_id, [PUBLIC])):  # a redelivery, then a second Create of it
        status, _ = await alice.post(node.inbox, body)
        assert status == 202
    followers_only = _create(alice, alice.new_id("notes"), [f"{alice.id}/followers"])
    assert (await alice.post(node.inbox, followers_only))[0] == 202
    await node.settle()

    announces = [r.activity for r in bob.received if r.activity["type"] == "Announce"]
    assert [id_of(a["object"]) for a in announces] == [note_id], "relayed once, the followers-only post never"
    assert announces[0]["actor"] == node.actor_id and PUBLIC in announces[0]["to"]
    status, served = await get_json(announces[0]["id"])
    assert status == 200 and served["object"] == note_id
    seen = await fetch_all(node.db.reader, "SELECT activity_id FROM seen_creates")
    assert len(seen) == 3  # the hook ran for each distinct Create, in the handler's transaction


async def test_a_node_without_the_polls_room_keeps_a_ballot_as_a_plain_activity(make_node, remote_actor):
    node = await make_node("london", start_workers=False, features=())
    alice = await remote_actor("alice")
    status, body = await get_json(f"{node.base_url}/polls/new", accept="application/json")
    assert status == 404, body
    vote = alice.activity(
        "Create",
        {
            "id": alice.new_id("notes"),
            "type": "Note",
            "name": "yes",
            "inReplyTo": f"{node.base_url}/objects/unknown",
            "to": [node.actor_id],
        },
    )
    assert (await alice.post(node.inbox, vote))[0] == 202
    await node.settle()
    rows = await fetch_all(node.db.reader, "SELECT state FROM inbox_items WHERE activity_id = ?", (vote["id"],))
    assert [row["state"] for row in rows] == ["done"]
