"""Events: published as Event, answered by members with Accept / Reject / TentativeAccept (as Mobilizon does).

Members are remote actors (a scriptable one, and a bovine peer); the node runs without
background workers and is stepped with ``settle()``, so every count is exact.
"""

from __future__ import annotations

import pytest

from federation.jsonld import undefined_terms
from tests.support.c2s import get_json, publish
from tests.support.content import add_member, inbox_outcome

EVENT = {
    "type": "Event",
    "name": "Winter book fair",
    "content": "<p>Second-hand books, <strong>all day</strong>.</p>",
    "startTime": "2026-12-05T10:00:00+01:00",
    "endTime": "2026-12-05T17:00:00+01:00",
    "location": {
        "type": "Place",
        "name": "Town hall",
        "address": {"streetAddress": "1 Market Square", "addressLocality": "London"},
    },
}


async def _follow(node, actor) -> None:
    status, body = await actor.post(node.inbox, actor.activity("Follow", node.actor_id))
    assert status == 202, body
    await node.settle()
    actor.received.clear()


async def _answer(node, actor, kind: str, event_id: str) -> str:
    activity = actor.activity(kind, event_id)
    status, body = await actor.post(node.inbox, activity)
    assert status == 202, body
    await node.settle()
    return activity["id"]


async def _counts(event_id: str) -> tuple[int, int, int]:
    status, event = await get_json(event_id)
    assert status == 200, event
    return event["participantCount"], event["maybeCount"], event["notGoingCount"]


async def test_event_is_published_with_times_and_place_and_delivered(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await _follow(london, alice)

    status, result, location = await publish(london, EVENT)
    assert status == 201, result
    await london.settle()
    create = next(r.activity for r in alice.received if r.activity["type"] == "Create")
    assert create["id"] == location and create["object"]["id"] == result["object"]

    status, event = await get_json(result["object"])
    assert status == 200
    assert event["type"] == "Event" and event["name"] == "Winter book fair"
    assert event["startTime"] == "2026-12-05T09:00:00Z" and event["endTime"] == "2026-12-05T16:00:00Z"
    assert event["location"] == {
        "type": "Place",
        "name": "Town hall",
        "address": {"type": "PostalAddress", "streetAddress": "1 Market Square", "addressLocality": "London"},
    }
    assert event["content"] == "<p>Second-hand books, <strong>all day</strong>.</p>"
    assert (event["participantCount"], event["maybeCount"], event["notGoingCount"]) == (0, 0, 0)
    assert event["replies"]["totalItems"] == 0 and event["likes"]["totalItems"] == 0
    assert undefined_terms(event) == []


async def test_members_answers_are_counted_latest_wins_and_non_members_are_not(make_node, remote_actor, bovine_peer):
    london = await make_node("london", start_workers=False)
    alice, carol = await remote_actor("alice"), await remote_actor("carol")
    bob = await bovine_peer("bob")
    await add_member(london, alice.id, inbox=alice.inbox)
    await add_member(london, bob.actor_id, inbox=bob.inbox)
    _, result, _ = await publish(london, EVENT)
    event_id = result["object"]

    await _answer(london, alice, "Accept", event_id)
    sent = await bob.send(london.inbox, {"type": "TentativeAccept", "object": event_id})  # signed by bovine
    assert sent["status"] == 202, sent
    await london.settle()
    carol_answer = await _answer(london, carol, "Accept", event_id)  # not a member: kept, not counted
    assert await inbox_outcome(london, carol_answer) == ("done", None)
    assert await _counts(event_id) == (1, 1, 0)

    await _answer(london, alice, "Reject", event_id)  # alice changes her mind: the latest answer wins
    assert await _counts(event_id) == (0, 1, 1)
    await _answer(london, alice, "Reject", event_id)  # the same answer again changes nothing
    assert await _counts(event_id) == (0, 1, 1)

    await add_member(london, carol.id)  # carol joins: her recorded answer now counts
    assert await _counts(event_id) == (1, 1, 1)
    await add_member(london, alice.id, state="left")  # alice leaves: hers no longer does
    assert await _counts(event_id) == (1, 1, 0)


async def test_answers_to_a_deleted_event_go_dead_with_the_reason(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await add_member(london, alice.id)
    _, result, _ = await publish(london, EVENT)
    status, body, _ = await publish(london, {"type": "Delete", "object": result["object"]})
    assert status == 201, body
    assert (await get_json(result["object"]))[0] == 410
    answer = await _answer(london, alice, "Accept", result["object"])
    state, error = await inbox_outcome(london, answer)
    assert state == "dead" and "deleted" in error


async def test_event_is_edited_and_the_update_delivered(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await _follow(london, alice)
    _, result, _ = await publish(london, EVENT)
    event_id = result["object"]

    status, body, _ = await publish(
        london,
        {
            "type": "Update",
            "object": {
                "id": event_id,
                "startTime": "2026-12-06T10:00:00Z",
                "endTime": "2026-12-06T18:00:00Z",
                "location": "The park",
            },
        },
    )
    assert status == 201, body
    await london.settle()
    update = next(r.activity for r in alice.received if r.activity["type"] == "Update")
    assert update["object"]["id"] == event_id and update["object"]["startTime"] == "2026-12-06T10:00:00Z"
    _, event = await get_json(event_id)
    assert event["updated"] and event["location"] == {"type": "Place", "name": "The park"}
    assert event["name"] == "Winter book fair" and event["content"] == EVENT["content"]
    assert undefined_terms(event) == []

    status, body, _ = await publish(
        london, {"type": "Update", "object": {"id": event_id, "endTime": "2026-12-06T09:00:00Z"}}
    )
    assert status == 400 and "endTime must be after startTime" in body["error"]


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"startTime": None}, "startTime"),
        ({"startTime": "2026-12-05T10:00:00"}, "timezone"),
        ({"startTime": "next Saturday"}, "ISO 8601"),
        ({"endTime": "2026-12-05T08:00:00+01:00"}, "endTime must be after startTime"),
        ({"name": ""}, "name"),
        ({"location": {"type": "Place"}}, "location.name"),
        ({"location": {"type": "Person", "name": "x"}}, "Place"),
    ],
)
async def test_bad_events_are_refused_with_the_reason(make_node, change, reason):
    london = await make_node("london", start_workers=False)
    status, body, _ = await publish(london, {**EVENT, **change})
    assert status == 400, body
    assert reason in body["error"]
