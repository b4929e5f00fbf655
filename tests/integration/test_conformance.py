"""Two cases of steve-bate's activitypub-testsuite, written from what the suite expects.

- ``test_get_public_object_allowed[to|cc|bto|bcc-...]``: an object addressed to Public in any
  of the four fields (in any of the forms servers write Public in) is served to an anonymous
  GET; ``bto`` / ``bcc`` themselves are served to the owner (the admin) alone.
- ``test_outbox_wraps_object_and_copies_recipients``: a bare object posted to the outbox is
  wrapped in a Create carrying its ``to``, ``cc``, ``bto``, ``bcc`` and ``audience``; and a
  Create's recipients, ``audience`` among them, are copied to an object that has none.
"""

from __future__ import annotations

import pytest

from tests.support.c2s import get_json, publish
from tests.support.nodes import ADMIN_TOKEN

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_OWNER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize("public", [PUBLIC, "as:Public", "Public"])
@pytest.mark.parametrize("field", ["to", "cc", "bto", "bcc"])
async def test_an_object_public_in_any_address_field_is_served_to_anonymous_readers(make_node, field, public):
    london = await make_node("london", start_workers=False)
    status, result, create_id = await publish(london, {"type": "Note", "content": "<p>Hi</p>", field: [public]})
    assert status == 201, result

    for url in (result["object"], create_id):
        status, served = await get_json(url)
        assert status == 200, served
        assert "bto" not in served and "bcc" not in served, served
        status, owned = await get_json(url, headers=AS_OWNER)
        assert status == 200 and (field not in ("bto", "bcc") or owned[field] == [public]), owned


@pytest.mark.parametrize("field", ["bto", "bcc"])
async def test_an_object_sent_blind_to_an_actor_alone_stays_hidden(make_node, remote_actor, field):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    status, result, create_id = await publish(london, {"type": "Note", "content": "<p>Psst</p>", field: [alice.id]})
    assert status == 201, result
    for url in (result["object"], create_id):
        assert (await get_json(url))[0] == 404
        status, owned = await get_json(url, headers=AS_OWNER)
        assert status == 200 and owned[field] == [alice.id]


async def test_the_outbox_wraps_a_bare_object_and_copies_its_recipients(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, bob, carol, group = [await remote_actor(name) for name in ("alice", "bob", "carol", "group")]
    addressing = {"to": [PUBLIC, alice.id], "cc": [bob.id], "bto": [carol.id], "audience": [group.id]}
    status, result, create_id = await publish(london, {"type": "Note", "content": "<p>Hi</p>", **addressing})
    assert status == 201, result

    status, create = await get_json(create_id, headers=AS_OWNER)
    assert status == 200 and create["type"] == "Create", create
    for name, value in addressing.items():
        assert create[name] == value, (name, create)
    status, note = await get_json(result["object"])
    assert status == 200
    assert (note["to"], note["cc"], note["audience"]) == (addressing["to"], addressing["cc"], addressing["audience"])


async def test_a_creates_audience_is_copied_to_its_object(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    group = await remote_actor("group")
    create = {
        "type": "Create",
        "to": [PUBLIC],
        "audience": [group.id],
        "object": {"type": "Note", "content": "<p>For the group</p>"},
    }
    status, result, create_id = await publish(london, create)
    assert status == 201, result
    status, note = await get_json(result["object"])
    assert status == 200 and note["audience"] == [group.id] and note["to"] == [PUBLIC], note
    status, served = await get_json(create_id)
    assert status == 200 and served["audience"] == [group.id] and served["object"]["audience"] == [group.id]
