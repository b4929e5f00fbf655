"""Who may read what: authorized fetch (secure mode), and followers-only posts.

With ``authorized_fetch`` every actor, collection and object needs a signed GET, except the
instance actor, which others must be able to fetch unsigned to verify the node's own signed
GETs. Without it, public things are open to all, and a followers-only post is served only to
a signed GET from an accepted follower.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from federation.signatures import sign_request
from tests.support.c2s import get_json, publish
from tests.support.remote_actor import new_rsa_key

AS_JSON = "application/activity+json"


async def signed_get(url: str, actor, *, key=None) -> tuple[int, dict]:
    headers = sign_request(
        "GET",
        url,
        None,
        key_id=actor.key_id,
        private_key=key or actor.key,
        now=datetime.now(UTC),
        headers={"Accept": AS_JSON},
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            return response.status, await response.json(content_type=None)


async def post_note(node, **fields) -> str:
    status, result, _ = await publish(node, {"type": "Note", "content": "<p>Open meeting</p>", **fields})
    assert status == 201, result
    return result["object"]


@pytest.fixture
async def secure(make_node):
    return await make_node("london", authorized_fetch=True)


async def test_unsigned_gets_are_refused_with_a_reason(secure):
    note_id = await post_note(secure)
    for url in (secure.actor_id, secure.outbox, f"{secure.outbox}?page=1", f"{secure.actor_id}/followers", note_id):
        status, body = await get_json(url)
        assert status == 401, (url, body)
        assert "signed" in body["error"], (url, body)


async def test_the_instance_actor_is_served_unsigned(secure):
    status, actor = await get_json(f"{secure.base_url}/actor")
    assert status == 200, actor
    assert actor["id"] == f"{secure.base_url}/actor"
    assert actor["publicKey"]["owner"] == actor["id"] and actor["publicKey"]["publicKeyPem"]


async def test_signed_gets_from_a_remote_actor_are_served(secure, remote_actor):
    alice = await remote_actor("alice")
    note_id = await post_note(secure)

    status, actor = await signed_get(secure.actor_id, alice)
    assert status == 200, actor
    assert actor["id"] == secure.actor_id
    status, outbox = await signed_get(secure.outbox, alice)
    assert status == 200 and outbox["totalItems"] == 1, outbox
    status, page = await signed_get(f"{secure.outbox}?page=1", alice)
    assert status == 200 and page["orderedItems"][0]["object"]["id"] == note_id, page
    status, note = await signed_get(note_id, alice)
    assert status == 200 and note["id"] == note_id, note


async def test_a_forged_signed_get_is_refused(secure, remote_actor):
    alice = await remote_actor("alice")
    status, body = await signed_get(secure.actor_id, alice, key=new_rsa_key())
    assert status == 401, body
    assert "does not verify" in body["error"]


# --- followers-only, without authorized fetch -----------------------------------------------------


async def test_followers_only_note_is_served_to_an_accepted_follower_only(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, stranger = await remote_actor("alice"), await remote_actor("mallory")

    assert (await alice.post(london.inbox, alice.activity("Follow", london.actor_id)))[0] == 202
    await london.settle()
    _, page = await get_json(f"{london.actor_id}/followers?page=1")
    assert page["orderedItems"] == [alice.id]

    note_id = await post_note(london, content="<p>Members only</p>", to=[f"{london.actor_id}/followers"])

    status, note = await signed_get(note_id, alice)
    assert status == 200, note
    assert note["content"] == "<p>Members only</p>"
    status, body = await signed_get(note_id, stranger)
    assert status == 404, body
    status, body = await get_json(note_id)
    assert status == 404, body

    # public things stay open to anyone without authorized fetch.
    public_id = await post_note(london)
    assert (await get_json(public_id))[0] == 200
    assert (await get_json(london.actor_id))[0] == 200
