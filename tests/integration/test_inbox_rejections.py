"""What the inbox refuses, and why, as a remote server sees it; and what it must still accept.

Every refusal is a 4xx whose JSON ``error`` says why, and a refused activity is never stored:
the owner's inbox (read with the admin token) shows nothing, and the inbox worker finds
nothing to process. The nodes run without background workers so that "nothing to process"
is checked by stepping the worker once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.support.c2s import get_json, read_inbox
from tests.support.remote_actor import new_rsa_key

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = "application/activity+json"


@pytest.fixture
async def london(make_node):
    return await make_node("london", start_workers=False)


@pytest.fixture
async def alice(remote_actor):
    return await remote_actor("alice")


def a_note(actor, content: str = "<p>Hello, London</p>") -> dict:
    note = {"id": actor.new_id("objects"), "type": "Note", "attributedTo": actor.id, "content": content, "to": [PUBLIC]}
    return actor.activity("Create", note, to=[PUBLIC])


def encode(activity: dict) -> bytes:
    return json.dumps(activity).encode()


async def post_raw(url: str, data, headers: dict) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=data, headers=headers) as response:
            return response.status, await response.json(content_type=None)


async def assert_nothing_stored(node) -> None:
    assert await read_inbox(node) == []
    assert await node.inbox_worker.run_single_cycle() == 0


def refused(status: int, body: dict, expected: int, *words: str) -> None:
    assert status == expected, body
    assert isinstance(body.get("error"), str) and body["error"], body
    for word in words:
        assert word.lower() in body["error"].lower(), body


# --- signatures ---------------------------------------------------------------------------------


async def test_unsigned_post_is_refused(london, alice):
    status, body = await alice.post(london.inbox, a_note(alice), headers={"Content-Type": AS_JSON})
    refused(status, body, 401, "not signed")
    await assert_nothing_stored(london)


async def test_post_signed_with_another_key_under_the_actors_key_id_is_refused(london, alice):
    activity = a_note(alice)
    body = encode(activity)
    forged = alice.signed_headers(london.inbox, body, key=new_rsa_key())  # same keyId, not alice's key
    status, answer = await alice.post(london.inbox, body, headers=forged)
    refused(status, answer, 401, "does not verify", alice.key_id)
    await assert_nothing_stored(london)


async def test_body_tampered_after_signing_is_refused(london, alice):
    activity = a_note(alice)
    headers = alice.signed_headers(london.inbox, encode(activity))
    activity["object"]["content"] = "<p>Something alice never said</p>"
    status, answer = await alice.post(london.inbox, encode(activity), headers=headers)
    refused(status, answer, 401, "digest")
    await assert_nothing_stored(london)


@pytest.mark.parametrize(
    "shift, word",
    [(timedelta(hours=-2), "old"), (timedelta(hours=2), "future")],
    ids=["two-hours-old", "two-hours-ahead"],
)
async def test_date_outside_the_freshness_window_is_refused(london, alice, shift, word):
    body = encode(a_note(alice))
    headers = alice.signed_headers(london.inbox, body, now=datetime.now(UTC) + shift)
    status, answer = await alice.post(london.inbox, body, headers=headers)
    refused(status, answer, 401, "date", word)
    await assert_nothing_stored(london)


async def test_activity_of_another_actor_is_refused(london, alice, remote_actor):
    bob = await remote_actor("bob")
    activity = a_note(bob)  # bob's activity, on bob's host ...
    status, answer = await alice.post(london.inbox, activity)  # ... signed by alice
    refused(status, answer, 401, f"signed by {alice.id}", bob.id)
    await assert_nothing_stored(london)


async def test_activity_id_on_another_host_than_its_actor_is_refused(london, alice):
    activity = a_note(alice)
    activity["id"] = "https://elsewhere.example/activities/1"
    status, answer = await alice.post(london.inbox, activity)
    refused(status, answer, 400, "not on its actor's host")
    await assert_nothing_stored(london)


# --- the body ------------------------------------------------------------------------------------


@pytest.fixture
async def small(make_node):
    return await make_node("small", start_workers=False, max_body_bytes=2048)


def oversized(alice) -> bytes:
    body = encode(a_note(alice, "<p>" + "x" * 6000 + "</p>"))
    assert len(body) > 2048
    return body


async def test_body_over_the_limit_with_content_length_is_413(small, alice):
    body = oversized(alice)
    status, answer = await post_raw(small.inbox, body, alice.signed_headers(small.inbox, body))
    refused(status, answer, 413, "2048")
    await assert_nothing_stored(small)


async def test_chunked_body_over_the_limit_is_413(small, alice):
    body = oversized(alice)

    async def chunks():
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    headers = alice.signed_headers(small.inbox, body)
    status, answer = await post_raw(small.inbox, chunks(), headers)  # no Content-Length: chunked
    refused(status, answer, 413, "too large")
    assert "max_body_bytes" in answer.get("hint", "")
    await assert_nothing_stored(small)


async def test_body_under_the_limit_is_accepted_by_the_small_node(small, alice):
    activity = a_note(alice)
    status, answer = await alice.post(small.inbox, activity)
    assert status == 202, answer
    assert [item["id"] for item in await read_inbox(small)] == [activity["id"]]


async def test_malformed_json_is_400(london, alice):
    body = b'{"type": "Create", "id": '
    status, answer = await alice.post(london.inbox, body, headers=alice.signed_headers(london.inbox, body))
    refused(status, answer, 400, "not valid JSON")
    await assert_nothing_stored(london)


@pytest.mark.parametrize("document", [[1, 2], "Create", 42, None], ids=["array", "string", "number", "null"])
async def test_json_that_is_not_an_object_is_400(london, alice, document):
    body = json.dumps(document).encode()
    status, answer = await alice.post(london.inbox, body, headers=alice.signed_headers(london.inbox, body))
    refused(status, answer, 400, "JSON object")
    await assert_nothing_stored(london)


@pytest.mark.parametrize("field, word", [("id", "id"), ("type", "type"), ("actor", "actor")])
async def test_activity_without_id_type_or_actor_is_400(london, alice, field, word):
    activity = a_note(alice)
    del activity[field]
    status, answer = await alice.post(london.inbox, activity)
    refused(status, answer, 400, "needs", word)
    await assert_nothing_stored(london)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html"])
async def test_wrong_content_type_is_415(london, alice, content_type):
    body = encode(a_note(alice))
    headers = {**alice.signed_headers(london.inbox, body), "Content-Type": content_type}
    status, answer = await alice.post(london.inbox, body, headers=headers)
    refused(status, answer, 415, content_type)
    assert "application/activity+json" in answer.get("hint", "")
    await assert_nothing_stored(london)


async def test_deeply_nested_json_is_400(london, alice):
    nested: dict = {"type": "Note", "content": "bottom"}
    for _ in range(100):
        nested = {"type": "Note", "inReplyTo": nested}
    activity = alice.activity("Create", nested, to=[PUBLIC])
    status, answer = await alice.post(london.inbox, activity)
    refused(status, answer, 400, "deeper")
    await assert_nothing_stored(london)


async def test_inbox_of_an_unknown_user_is_404(london, alice):
    url = f"{london.base_url}/users/nobody/inbox"
    status, answer = await alice.post(url, a_note(alice))
    refused(status, answer, 404, "nobody")
    await assert_nothing_stored(london)


# --- positive controls -----------------------------------------------------------------------


async def test_post_signed_by_the_independent_httpsig_package_is_accepted(london, alice):
    activity = a_note(alice)
    status, answer = await alice.post(london.inbox, activity, signed_by="httpsig")
    assert status == 202, answer
    assert [item["id"] for item in await read_inbox(london)] == [activity["id"]]
    assert await london.inbox_worker.run_single_cycle() == 1


async def test_post_signed_with_rfc9421_is_accepted(london, alice):
    activity = a_note(alice)
    status, answer = await alice.post(london.inbox, activity, signed_by="rfc9421")
    assert status == 202, answer
    assert [item["id"] for item in await read_inbox(london)] == [activity["id"]]


async def test_post_to_the_shared_inbox_is_accepted(london, alice):
    activity = a_note(alice)
    status, answer = await alice.post(f"{london.base_url}/inbox", activity)
    assert status == 202, answer
    assert [item["id"] for item in await read_inbox(london)] == [activity["id"]]


async def test_the_same_activity_twice_is_stored_once(london, alice):
    activity = a_note(alice)
    first = await alice.post(london.inbox, activity)
    second = await alice.post(london.inbox, activity)  # signed afresh, as a retrying server would
    assert first[0] == 202 and second[0] == 202, (first, second)
    assert [item["id"] for item in await read_inbox(london)] == [activity["id"]]
    assert await london.inbox_worker.run_single_cycle() == 1
    assert await london.inbox_worker.run_single_cycle() == 0


# --- Delete of an actor that is gone ------------------------------------------------------------


async def test_delete_of_a_gone_actor_the_node_never_saw_is_acknowledged_and_dropped(london, alice):
    alice.gone = True  # its actor document (and so its key) now answers 410
    status, answer = await alice.post(london.inbox, alice.activity("Delete", alice.id, to=[PUBLIC]))
    assert status == 202, answer
    await assert_nothing_stored(london)


async def test_delete_of_a_known_actor_that_is_gone_removes_it_from_followers(london, alice):
    follow = alice.activity("Follow", london.actor_id)
    status, answer = await alice.post(london.inbox, follow)
    assert status == 202, answer
    await london.settle()
    _, page = await get_json(f"{london.actor_id}/followers?page=1")
    assert page["orderedItems"] == [alice.id]
    assert any(r.activity["type"] == "Accept" for r in alice.received)

    alice.gone = True
    delete = alice.activity("Delete", alice.id, to=[PUBLIC])
    status, answer = await alice.post(london.inbox, delete)  # signed with the key the node stored
    assert status == 202, answer
    assert delete["id"] in [item["id"] for item in await read_inbox(london)]
    await london.settle()
    assert await london.inbox_worker.run_single_cycle() == 0
    _, collection = await get_json(f"{london.actor_id}/followers")
    assert collection["totalItems"] == 0
    _, page = await get_json(f"{london.actor_id}/followers?page=1")
    assert "orderedItems" not in page  # an empty page leaves out the empty array (issue 10)
