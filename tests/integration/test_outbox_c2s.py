"""The admin publishes through the outbox (ActivityPub section 6), and the world reads the result.

What is checked is what a client, a follower's server or an anonymous reader would see: the
status and ``Location`` of a POST, the documents served at the new ids, the collections, and
what reaches a remote actor's inbox (signed by the chapter's published key).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import pytest

from federation.signatures import read_signature_claim, verify_claim
from tests.support.c2s import eventually, get_json, publish, read_inbox
from tests.support.nodes import ADMIN_TOKEN, free_port, node_config

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = "application/activity+json"
LD_JSON_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def london(make_node):
    return await make_node("london")


async def post_raw(url: str, body: dict, headers: dict) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=json.dumps(body).encode(), headers=headers) as response:
            return response.status, await response.json(content_type=None), dict(response.headers)


async def create_note(node, **fields) -> str:
    status, result, _ = await publish(node, {"type": "Note", "content": "<p>A note</p>", **fields})
    assert status == 201, result
    return result["object"]


async def outbox_items(node) -> list[dict]:
    items, url = [], f"{node.outbox}?page=1"
    while url:
        status, page = await get_json(url)
        assert status == 200, page
        items.extend(page.get("orderedItems", []))  # an empty page leaves it out
        url = page.get("next")
    return items


# --- who may publish, and in what form -----------------------------------------------------


async def test_post_without_a_token_is_401_with_www_authenticate(london):
    status, body, headers = await post_raw(london.outbox, {"type": "Note", "content": "hi"}, {"Content-Type": AS_JSON})
    assert status == 401, body
    assert "token" in body["error"]
    assert headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert (await get_json(f"{london.outbox}"))[1]["totalItems"] == 0


async def test_post_with_a_wrong_token_is_403(london):
    status, body, _ = await publish(london, {"type": "Note", "content": "hi"}, token="not-the-admin-token")
    assert status == 403, body
    assert "wrong" in body["error"]
    assert (await get_json(f"{london.outbox}"))[1]["totalItems"] == 0


@pytest.mark.parametrize("content_type", [LD_JSON_AS, AS_JSON])
async def test_activitystreams_content_types_are_accepted(london, content_type):
    status, body, _ = await publish(london, {"type": "Note", "content": "hi"}, content_type=content_type)
    assert status == 201, body


async def test_text_plain_is_415(london):
    status, body, _ = await publish(london, {"type": "Note", "content": "hi"}, content_type="text/plain")
    assert status == 415, body
    assert "text/plain" in body["error"] and "application/activity+json" in body["hint"]


# --- creating -------------------------------------------------------------------------------------


async def test_bare_note_is_wrapped_in_a_create_and_served_at_its_ids(london):
    status, result, location = await publish(london, {"type": "Note", "content": "<p>Meeting on Monday</p>"})
    assert status == 201, result
    assert location == result["id"] and result["type"] == "Create"

    status, create = await get_json(location)
    assert status == 200, create
    assert create["type"] == "Create" and create["actor"] == london.actor_id
    assert create["to"] == [PUBLIC] and create["cc"] == [f"{london.actor_id}/followers"]
    assert create["published"]

    status, note = await get_json(result["object"])
    assert status == 200, note
    assert note["id"] == result["object"] == create["object"]["id"]
    assert note["type"] == "Note" and note["attributedTo"] == london.actor_id
    assert note["content"] == "<p>Meeting on Monday</p>"
    assert datetime.strptime(note["published"], "%Y-%m-%dT%H:%M:%SZ")
    assert note["to"] == [PUBLIC] and note["cc"] == [f"{london.actor_id}/followers"]
    assert [item["id"] for item in await outbox_items(london)] == [create["id"]]


async def test_article_keeps_its_name(london):
    status, result, _ = await publish(
        london, {"type": "Article", "name": "Minutes of 3 March", "content": "<p>Present: everyone.</p>"}
    )
    assert status == 201, result
    status, article = await get_json(result["object"])
    assert status == 200
    assert article["type"] == "Article" and article["name"] == "Minutes of 3 March"
    assert article["content"] == "<p>Present: everyone.</p>"


async def test_followers_only_note_is_hidden_from_anonymous_readers(london):
    followers = f"{london.actor_id}/followers"
    status, result, location = await publish(
        london, {"type": "Note", "content": "<p>Members only</p>", "to": [followers]}
    )
    assert status == 201, result
    status, body = await get_json(result["object"])
    assert status == 404, body
    status, body = await get_json(location)
    assert status == 404, body
    status, collection = await get_json(london.outbox)
    assert collection["totalItems"] == 0
    assert await outbox_items(london) == []


async def test_bto_and_bcc_never_appear_in_what_is_served(london, remote_actor):
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    status, result, location = await publish(
        london, {"type": "Note", "content": "<p>Psst</p>", "to": [PUBLIC], "bto": [alice.id], "bcc": [bob.id]}
    )
    assert status == 201, result
    served = [(await get_json(result["object"]))[1], (await get_json(location))[1], *await outbox_items(london)]
    for document in served:
        text = json.dumps(document)
        assert "bto" not in document and "bcc" not in document, document
        assert alice.id not in text and bob.id not in text, document

    # the blind recipients still get it, and their copies do not name each other either.
    async def both_received():
        return all(any(r.activity["id"] == location for r in actor.received) for actor in (alice, bob))

    await eventually(both_received)
    for actor in (alice, bob):
        delivered = next(r.activity for r in actor.received if r.activity["id"] == location)
        assert "bto" not in delivered and "bcc" not in delivered, delivered
        assert delivered["object"]["id"] == result["object"]


async def test_html_is_sanitised(london):
    note_id = await create_note(
        london,
        content='<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:x()">x</a>'
        "<strong>there</strong></p>",
    )
    _, note = await get_json(note_id)
    content = note["content"]
    assert "Hi" in content and "<strong>there</strong>" in content
    for bad in ("<script", "alert(1)", "onclick", "javascript:"):
        assert bad not in content, content


async def test_unsupported_type_is_400_listing_the_supported_ones(london):
    status, body, _ = await publish(london, {"type": "Travel", "object": "https://example.org/somewhere"})
    assert status == 400, body
    assert "Travel" in body["error"]
    for supported in ("Create", "Update", "Delete", "Follow", "Undo", "Accept", "Reject", "Add", "Remove"):
        assert supported in body["hint"], body


# --- editing and deleting ------------------------------------------------------------------------


async def test_update_changes_content_and_sets_updated(london):
    note_id = await create_note(london, content="<p>Fair on Saturday</p>")
    status, result, location = await publish(
        london, {"type": "Update", "object": {"id": note_id, "content": "<p>Fair on Sunday</p>"}}
    )
    assert status == 201, result
    assert location == result["id"] and result["type"] == "Update"
    _, note = await get_json(note_id)
    assert note["content"] == "<p>Fair on Sunday</p>" and note["updated"]
    _, update = await get_json(location)
    assert update["type"] == "Update" and update["object"]["content"] == "<p>Fair on Sunday</p>"


async def test_update_of_an_unknown_id_is_404(london):
    missing = f"{london.base_url}/objects/{uuid.uuid4()}"
    status, body, _ = await publish(london, {"type": "Update", "object": {"id": missing, "content": "<p>x</p>"}})
    assert status == 404, body
    assert missing in body["error"]


async def test_delete_leaves_a_tombstone_and_the_id_is_never_reused(london):
    note_id = await create_note(london)
    status, result, location = await publish(london, {"type": "Delete", "object": note_id})
    assert status == 201, result and location == result["id"]

    status, tombstone = await get_json(note_id)
    assert status == 410
    assert tombstone["type"] == "Tombstone" and tombstone["id"] == note_id and tombstone["formerType"] == "Note"

    status, body, _ = await publish(london, {"type": "Delete", "object": note_id})
    assert status == 410, body
    status, body, _ = await publish(london, {"type": "Update", "object": {"id": note_id, "content": "<p>back</p>"}})
    assert status == 410, body
    assert "deleted" in body["error"]
    assert (await get_json(note_id))[0] == 410


# --- following ------------------------------------------------------------------------------------


async def test_follow_of_an_unreachable_actor_is_422_with_the_reason(london):
    target = f"http://127.0.0.1:{free_port()}/users/nobody"  # nothing listens there
    status, body, _ = await publish(london, {"type": "Follow", "object": target})
    assert status == 422, body
    assert target in body["error"] and "could not fetch" in body["error"]
    _, following = await get_json(f"{london.actor_id}/following")
    assert following["totalItems"] == 0


async def test_manual_approval_accept_and_reject(make_node, remote_actor, tmp_path):
    config = node_config(tmp_path, "london")
    config = replace(config, node=replace(config.node, manually_approves_followers=True))
    london = await make_node(config=config, start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")

    _, actor = await get_json(london.actor_id)
    assert actor["manuallyApprovesFollowers"] is True

    async def follower_ids() -> list[str]:
        _, page = await get_json(f"{london.actor_id}/followers?page=1")
        return page.get("orderedItems", [])

    # alice asks; the request waits for the admin.
    follow = alice.activity("Follow", london.actor_id)
    assert (await alice.post(london.inbox, follow))[0] == 202
    await london.settle()
    assert await follower_ids() == []
    assert not alice.received
    assert follow["id"] in [item["id"] for item in await read_inbox(london) if item["type"] == "Follow"]

    # the admin accepts: alice receives an Accept embedding her Follow, signed by the chapter.
    status, result, _ = await publish(london, {"type": "Accept", "object": follow["id"]})
    assert status == 201, result
    await london.settle()
    accepts = [r for r in alice.received if r.activity["type"] == "Accept"]
    assert len(accepts) == 1
    accept = accepts[0]
    assert accept.activity["actor"] == london.actor_id
    assert accept.activity["object"]["id"] == follow["id"] and accept.activity["object"]["type"] == "Follow"
    assert accept.activity["object"]["actor"] == alice.id
    claim = read_signature_claim("POST", accept.path, accept.headers, accept.body, now=datetime.now(UTC))
    assert claim.key_id == actor["publicKey"]["id"]
    verify_claim(claim, actor["publicKey"]["publicKeyPem"])  # raises if not signed by the chapter's key
    assert await follower_ids() == [alice.id]

    # bob asks too; the admin rejects him.
    follow_b = bob.activity("Follow", london.actor_id)
    assert (await bob.post(london.inbox, follow_b))[0] == 202
    await london.settle()
    status, result, _ = await publish(london, {"type": "Reject", "object": follow_b["id"]})
    assert status == 201, result
    await london.settle()
    rejects = [r for r in bob.received if r.activity["type"] == "Reject"]
    assert len(rejects) == 1 and rejects[0].activity["object"]["id"] == follow_b["id"]
    claim = read_signature_claim("POST", rejects[0].path, rejects[0].headers, rejects[0].body, now=datetime.now(UTC))
    verify_claim(claim, actor["publicKey"]["publicKeyPem"])
    assert await follower_ids() == [alice.id]
    _, collection = await get_json(f"{london.actor_id}/followers")
    assert collection["totalItems"] == 1

    # a request that was answered is no longer pending.
    status, body, _ = await publish(london, {"type": "Accept", "object": follow_b["id"]})
    assert status == 404, body


# --- collections ----------------------------------------------------------------------------------


async def test_featured_add_and_remove(london):
    note_id = await create_note(london, content="<p>Read this first</p>")
    featured = f"{london.actor_id}/featured"
    _, actor = await get_json(london.actor_id)
    assert actor["featured"] == featured

    status, result, _ = await publish(london, {"type": "Add", "object": note_id, "target": featured})
    assert status == 201, result
    _, collection = await get_json(featured)
    assert collection["totalItems"] == 1
    assert [item["id"] for item in collection["orderedItems"]] == [note_id]

    status, result, _ = await publish(london, {"type": "Remove", "object": note_id, "target": featured})
    assert status == 201, result
    _, collection = await get_json(featured)
    assert collection["totalItems"] == 0 and "orderedItems" not in collection  # no empty arrays (issue 10)


async def test_outbox_collection_counts_truly_and_pages_by_twenty(london):
    created = []
    for n in range(25):
        status, result, _ = await publish(london, {"type": "Note", "content": f"<p>Note {n}</p>"})
        assert status == 201, result
        created.append(result["id"])

    status, collection = await get_json(london.outbox)
    assert status == 200
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 25

    status, first = await get_json(collection["first"])
    assert status == 200 and first["type"] == "OrderedCollectionPage" and first["partOf"] == london.outbox
    assert len(first["orderedItems"]) == 20 and "prev" not in first and first["next"]

    status, second = await get_json(first["next"])
    assert status == 200
    assert len(second["orderedItems"]) == 5 and "next" not in second
    assert second["prev"] == first["id"]
    assert second["id"] == collection["last"]

    listed = [item["id"] for item in first["orderedItems"] + second["orderedItems"]]
    assert listed == list(reversed(created))  # newest first, each once


async def test_admin_token_is_not_needed_to_read_but_is_to_read_the_inbox(london):
    status, _ = await get_json(london.outbox)
    assert status == 200
    status, body = await get_json(london.inbox)
    assert status == 401 and body["error"]
    status, body = await get_json(london.inbox, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert status == 200


# --- what ActivityStreams allows a generic C2S client to send (issue 10) ---------------------

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize(
    "note",
    [
        {"type": "Note", "to": [PUBLIC]},
        {"type": "Note", "name": "Just a title"},
        {"type": "Note", "summary": "A warning, and nothing else", "cc": [PUBLIC]},
        {"type": "Article"},
    ],
)
async def test_a_note_without_content_is_published(london, note):
    status, result, location = await publish(london, note)
    assert status == 201, result
    status, served = await get_json(result["object"])
    assert status == 200 and served["type"] == note["type"] and "content" not in served
    for name in ("name", "summary"):
        assert served.get(name) == note.get(name)
    assert (await get_json(location))[1]["object"]["id"] == result["object"]


async def test_several_types_act_on_the_first_known_and_keep_the_rest(london):
    activity = {
        "type": ["Create", "http://example.org/ns#Special"],
        "object": {"type": ["Note", "x:Extra"], "content": "<p>Typed twice</p>"},
    }
    status, result, location = await publish(london, activity)
    assert status == 201, result
    _, create = await get_json(location)
    assert create["type"] == ["Create", "http://example.org/ns#Special"]
    _, note = await get_json(result["object"])
    assert note["type"] == ["Note", "x:Extra"] and note["content"] == "<p>Typed twice</p>"
    assert note["id"] in [item["object"]["id"] for item in await outbox_items(london)]

    status, result, _ = await publish(london, {"type": ["x:Extra", "Note"], "content": "<p>A bare one</p>"})
    assert status == 201, result
    _, bare = await get_json(result["object"])
    assert bare["type"] == ["x:Extra", "Note"]
    status, answer, _ = await publish(london, {"type": ["x:Unknown", "y:Other"], "content": "<p>?</p>"})
    assert status == 400 and "cannot publish" in answer["error"], answer


async def test_a_partial_update_with_null_removes_the_property(london):
    note_id = await create_note(london, summary="Spoilers", name="A title")
    status, result, _ = await publish(london, {"type": "Update", "object": {"id": note_id, "summary": None}})
    assert status == 201, result
    _, note = await get_json(note_id)
    assert "summary" not in note and note["name"] == "A title" and note["content"] == "<p>A note</p>"


async def test_an_update_that_changes_nothing_is_answered_as_any_update(london):
    note_id = await create_note(london)
    status, result, location = await publish(london, {"type": "Update", "object": {"id": note_id}})
    assert status == 201 and result["type"] == "Update", result
    _, update = await get_json(location)
    assert update["type"] == "Update" and update["object"]["id"] == note_id
    _, note = await get_json(note_id)
    assert note["content"] == "<p>A note</p>"


def _empty_arrays(document, path="") -> list[str]:
    if isinstance(document, dict):
        return [p for key, value in document.items() for p in _empty_arrays(value, f"{path}.{key}")]
    if isinstance(document, list):
        return [path] if not document else [p for i, v in enumerate(document) for p in _empty_arrays(v, f"{path}[{i}]")]
    return []


async def test_the_owner_reads_everything_published_with_bto_and_bcc(london, remote_actor):
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    followers = f"{london.actor_id}/followers"
    for addressing in (
        {"to": [alice.id]},
        {"to": [followers]},
        {"bto": [alice.id], "bcc": [bob.id]},
        {"to": [PUBLIC], "bcc": [bob.id]},
    ):
        status, result, location = await publish(london, {"type": "Note", "content": "<p>For a few</p>", **addressing})
        assert status == 201, result
        for url in (location, result["object"]):
            status, document = await get_json(url, headers=ADMIN)
            assert status == 200, (addressing, document)
            for blind in ("bto", "bcc"):
                assert document.get(blind) == addressing.get(blind), (addressing, document)
            status, anonymous = await get_json(url)
            if PUBLIC in addressing.get("to", []):
                assert status == 200 and "bcc" not in anonymous and bob.id not in json.dumps(anonymous)
            else:
                assert status == 404, anonymous
    status, refused = await get_json(location, headers={"Authorization": "Bearer wrong"})
    assert status == 403 and "token" in refused["error"]


@pytest.mark.parametrize(
    "path", ["outbox?page=1", "followers?page=1", "following?page=1", "members?page=1", "featured", "inbox?page=1"]
)
async def test_empty_collections_serve_no_empty_arrays(london, path):
    status, document = await get_json(f"{london.actor_id}/{path}", headers=ADMIN)
    assert status == 200 and document["totalItems"] == 0, document
    assert _empty_arrays(document) == [], document
