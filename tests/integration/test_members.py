"""Members of a chapter, end to end: real nodes on loopback, real signatures, real SQLite.

The admin adds and removes members with client-to-server Add / Remove targeting the members
collection; remote actors Join and Leave through the inbox; members-only posts reach members
alone; local accounts are Person actors found by WebFinger; NodeInfo counts them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import aiohttp

from federation.jsonld import undefined_terms
from federation.signatures import sign_request
from node.core.db import fetch_all
from node.membership import members
from tests.support.c2s import get_json, publish
from tests.support.forms import browser_like_session, post_form
from tests.support.nodes import ADMIN_TOKEN, node_config

AS_JSON = "application/activity+json"


def members_url(node) -> str:
    return f"{node.actor_id}/members"


async def signed_get(url: str, actor) -> tuple[int, dict]:
    headers = sign_request(
        "GET", url, None, key_id=actor.key_id, private_key=actor.key, now=datetime.now(UTC), headers={"Accept": AS_JSON}
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            return response.status, await response.json(content_type=None)


def received_of(actor, kind: str) -> list[dict]:
    return [r.activity for r in actor.received if r.activity.get("type") == kind]


async def member_row(node, actor_id: str):
    return await members.get_member(node.db.reader, node.config.node.name, actor_id)


async def sign_up(node, username: str, password: str = "correct horse battery", display_name: str = "") -> int:
    async with browser_like_session() as session:
        status, _, _ = await post_form(
            session,
            node,
            "/join",
            {"username": username, "display_name": display_name or username.title(), "password": password},
        )
        return status


async def test_admin_adds_changes_and_removes_a_remote_member(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")

    _, actor = await get_json(london.actor_id)
    assert actor["members"] == members_url(london) and undefined_terms(actor) == []

    status, result, location = await publish(london, {"type": "Add", "object": alice.id, "target": members_url(london)})
    assert status == 201, result
    assert location == result["id"] and result["deliveries"] == 1
    await london.settle()
    [add] = received_of(alice, "Add")
    assert add["object"] == alice.id and add["target"] == members_url(london) and add["role"] == "member"
    assert add["actor"] == london.actor_id and add["id"] == result["id"]
    assert undefined_terms(add) == []  # "role" (and every other term) is defined by its @context

    row = await member_row(london, alice.id)
    assert row["state"] == "active" and row["role"] == "member" and row["shared_inbox"] == alice.shared_inbox
    _, collection = await get_json(members_url(london))
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 1
    _, page = await get_json(f"{members_url(london)}?page=1")
    assert page["orderedItems"] == [alice.id]

    # the same Add again is refused with the reason; a new role changes the role
    status, body, _ = await publish(london, {"type": "Add", "object": alice.id, "target": members_url(london)})
    assert status == 409 and "already a member" in body["error"]
    status, body, _ = await publish(
        london, {"type": "Add", "object": alice.id, "target": members_url(london), "role": "treasurer"}
    )
    assert status == 400 and "role must be one of" in body["error"]
    status, body, _ = await publish(
        london, {"type": "Add", "object": alice.id, "target": members_url(london), "role": "secretary"}
    )
    assert status == 201, body
    assert await members.role_of(london.db.reader, "london", alice.id) == "secretary"
    await london.settle()
    assert [a.get("role") for a in received_of(alice, "Add")] == ["member", "secretary"]

    status, result, location = await publish(
        london, {"type": "Remove", "object": alice.id, "target": members_url(london)}
    )
    assert status == 201 and location == result["id"], result
    await london.settle()
    [remove] = received_of(alice, "Remove")
    assert remove["object"] == alice.id and remove["target"] == members_url(london)
    assert (await member_row(london, alice.id))["state"] == "removed"
    assert not await members.is_active_member(london.db.reader, "london", alice.id)  # later votes do not count
    _, collection = await get_json(members_url(london))
    assert collection["totalItems"] == 0

    status, body, _ = await publish(london, {"type": "Remove", "object": alice.id, "target": members_url(london)})
    assert status == 404 and "not a member" in body["error"]


async def test_membership_changes_are_refused_with_reasons(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    target = members_url(london)

    status, body, _ = await publish(london, {"type": "Add", "object": alice.id, "target": target}, token="wrong-token")
    assert status == 403
    async with aiohttp.ClientSession() as session:
        async with session.post(
            london.outbox, json={"type": "Add", "object": alice.id, "target": target}, headers={"Content-Type": AS_JSON}
        ) as response:
            assert response.status == 401 and "admin token" in (await response.json())["error"]

    cases = [
        ({"type": "Add", "object": alice.id, "target": f"{london.actor_id}/followers"}, 400, "target"),
        ({"type": "Add", "target": target}, 400, "needs the id of an actor"),
        ({"type": "Add", "object": london.actor_id, "target": target}, 400, "cannot be members"),
        ({"type": "Add", "object": f"{london.base_url}/users/nobody", "target": target}, 404, "not a local account"),
        ({"type": "Add", "object": f"{alice.base}/users/ghost", "target": target}, 422, "could not fetch"),
        ({"type": "Remove", "object": alice.id, "target": target}, 404, "not a member"),
        ({"type": "Accept", "object": f"{alice.base}/activities/unknown"}, 404, "pending"),
    ]
    for activity, expected, reason in cases:
        status, body, _ = await publish(london, activity)
        assert status == expected and reason in body["error"], (activity, status, body)
    assert await members.count_in_state(london.db.reader, "london") == 0


async def test_a_bovine_actor_receives_and_verifies_its_membership(make_node, bovine_peer):
    london = await make_node("london")
    alice = await bovine_peer("alice")

    status, result, _ = await publish(
        london, {"type": "Add", "object": alice.actor_id, "target": members_url(london), "role": "secretary"}
    )
    assert status == 201, result
    add = await alice.wait_for(lambda e: e["activity"]["type"] == "Add")
    assert add["verified"] is True, add["error"]  # bovine's own signature checker
    assert add["signer"] == london.actor_id
    assert add["activity"]["object"] == alice.actor_id and add["activity"]["role"] == "secretary"

    _, page = await get_json(f"{members_url(london)}?page=1")
    assert page["orderedItems"] == [alice.actor_id]

    status, result, _ = await publish(
        london, {"type": "Remove", "object": alice.actor_id, "target": members_url(london)}
    )
    assert status == 201, result
    remove = await alice.wait_for(lambda e: e["activity"]["type"] == "Remove")
    assert remove["verified"] is True, remove["error"]


async def test_members_collection_pages_newest_first_with_a_true_total(make_node):
    london = await make_node("london", start_workers=False)
    ids = [f"https://elsewhere.example/users/m{i:02d}" for i in range(23)]
    async with london.db.transaction() as conn:
        for i, actor_id in enumerate(ids):
            await members.upsert_member(conn, chapter="london", actor_id=actor_id, state="active", now=1000 + i)
        await members.request_membership(
            conn, chapter="london", actor_id="https://elsewhere.example/users/asking", now=5000
        )
        await members.upsert_member(
            conn, chapter="london", actor_id="https://elsewhere.example/users/gone", state="removed", now=5001
        )

    _, collection = await get_json(members_url(london))
    assert collection["totalItems"] == 23
    assert (
        collection["first"] == f"{members_url(london)}?page=1" and collection["last"] == f"{members_url(london)}?page=2"
    )
    _, first = await get_json(collection["first"])
    assert first["orderedItems"] == list(reversed(ids))[:20] and first["next"] == f"{members_url(london)}?page=2"
    _, second = await get_json(first["next"])
    assert second["orderedItems"] == list(reversed(ids))[20:] and "next" not in second
    status, body = await get_json(f"{london.base_url}/users/nobody/members")
    assert status == 404 and "no actor" in body["error"]


async def test_members_only_posts_reach_members_alone(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")

    assert (await bob.post(london.inbox, bob.activity("Follow", london.actor_id)))[0] == 202  # a follower only
    await london.settle()
    status, _, _ = await publish(london, {"type": "Add", "object": alice.id, "target": members_url(london)})
    assert status == 201
    await london.settle()

    status, result, _ = await publish(
        london, {"type": "Note", "content": "<p>Agenda for members</p>", "to": [members_url(london)]}
    )
    assert status == 201, result
    assert result["deliveries"] == 1
    rows = await fetch_all(london.db.reader, "SELECT inbox FROM deliveries WHERE activity_id = ?", (result["id"],))
    assert [row["inbox"] for row in rows] == [alice.shared_inbox]
    await london.settle()
    [create] = received_of(alice, "Create")
    assert create["object"]["content"] == "<p>Agenda for members</p>"
    assert received_of(bob, "Create") == []

    note_id = result["object"]
    status, note = await signed_get(note_id, alice)
    assert status == 200 and note["id"] == note_id
    status, body = await signed_get(note_id, bob)
    assert status == 404, body
    assert (await get_json(note_id))[0] == 404

    await publish(london, {"type": "Remove", "object": alice.id, "target": members_url(london)})
    status, body = await signed_get(note_id, alice)
    assert status == 404, body  # a former member no longer reads members-only posts


async def test_remote_join_accept_reject_and_leave(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")

    join = alice.activity("Join", london.actor_id)
    assert (await alice.post(london.inbox, join))[0] == 202
    await london.settle()
    row = await member_row(london, alice.id)
    assert row["state"] == "requested" and row["inbox"] == alice.inbox
    assert (await get_json(members_url(london)))[1]["totalItems"] == 0

    status, result, _ = await publish(london, {"type": "Accept", "object": join["id"]})
    assert status == 201, result
    await london.settle()
    [accept] = received_of(alice, "Accept")
    assert accept["object"]["id"] == join["id"] and accept["object"]["type"] == "Join"
    assert (await member_row(london, alice.id))["state"] == "active"
    status, body, _ = await publish(london, {"type": "Accept", "object": join["id"]})
    assert status == 404 and "not a pending" in body["error"]

    bob_join = bob.activity("Join", london.actor_id)
    assert (await bob.post(f"{london.base_url}/inbox", bob_join))[0] == 202  # the shared inbox works too
    await london.settle()
    status, result, _ = await publish(london, {"type": "Reject", "object": bob_join["id"]})
    assert status == 201, result
    await london.settle()
    [reject] = received_of(bob, "Reject")
    assert reject["object"]["id"] == bob_join["id"]
    assert (await member_row(london, bob.id))["state"] == "removed"

    other_group = alice.activity("Join", f"{alice.base}/users/somewhere-else")  # not for us: kept, ignored
    assert (await alice.post(london.inbox, other_group))[0] == 202
    assert (await alice.post(london.inbox, alice.activity("Leave", london.actor_id)))[0] == 202
    await london.settle()
    assert (await member_row(london, alice.id))["state"] == "left"
    assert (await get_json(members_url(london)))[1]["totalItems"] == 0

    assert (await alice.post(london.inbox, alice.activity("Join", london.actor_id)))[0] == 202  # asks again
    await london.settle()
    assert (await member_row(london, alice.id))["state"] == "requested"
    status, _, _ = await publish(london, {"type": "Add", "object": alice.id, "target": members_url(london)})
    assert status == 201  # approving by Add has the same effect as Accept
    assert (await member_row(london, alice.id))["state"] == "active"


async def test_follows_request_membership_only_where_the_config_says_so(make_node, remote_actor, tmp_path):
    plain = await make_node("london", start_workers=False)
    config = node_config(tmp_path, "bristol")
    asking = await make_node(
        config=replace(config, node=replace(config.node, follow_requests_membership=True)), start_workers=False
    )
    alice = await remote_actor("alice")

    for node in (plain, asking):
        assert (await alice.post(node.inbox, alice.activity("Follow", node.actor_id)))[0] == 202
        await node.settle()
    assert len(received_of(alice, "Accept")) == 2  # both accept the follow itself
    assert await member_row(plain, alice.id) is None
    row = await member_row(asking, alice.id)
    assert row["state"] == "requested" and row["shared_inbox"] == alice.shared_inbox

    status, result, _ = await publish(asking, {"type": "Add", "object": alice.id, "target": members_url(asking)})
    assert status == 201, result
    assert (await member_row(asking, alice.id))["state"] == "active"
    assert (await alice.post(asking.inbox, alice.activity("Follow", asking.actor_id)))[0] == 202  # follows again
    await asking.settle()
    assert (await member_row(asking, alice.id))["state"] == "active"  # an active member stays one


async def test_a_deleted_remote_account_is_no_longer_a_member(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await publish(london, {"type": "Add", "object": alice.id, "target": members_url(london)})
    assert (await alice.post(london.inbox, alice.activity("Delete", alice.id)))[0] == 202
    await london.settle()
    assert (await member_row(london, alice.id))["state"] == "left"


async def test_local_accounts_are_person_actors_found_by_webfinger(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    host = london.config.node.host

    assert await sign_up(london, "jo_smith", display_name="Jo Smith") == 201
    jo = f"{london.base_url}/users/jo_smith"
    row = await member_row(london, jo)
    assert row["state"] == "requested" and row["is_local"] == 1
    status, result, _ = await publish(london, {"type": "Add", "object": jo, "target": members_url(london)})
    assert status == 201 and result["deliveries"] == 0, result  # a local member needs no delivery
    status, finger = await get_json(
        f"{london.base_url}/.well-known/webfinger?resource=acct:jo_smith@{host}", accept="application/jrd+json"
    )
    assert status == 200 and finger["subject"] == f"acct:jo_smith@{host}"
    assert finger["links"][0] == {"rel": "self", "type": AS_JSON, "href": jo}
    status, finger = await get_json(f"{london.base_url}/.well-known/webfinger?resource={jo}")
    assert status == 200 and finger["subject"] == f"acct:jo_smith@{host}"

    status, person = await get_json(jo)
    assert status == 200 and person["type"] == "Person" and person["id"] == jo
    assert person["preferredUsername"] == "jo_smith" and person["name"] == "Jo Smith"
    assert person["publicKey"]["owner"] == jo and "BEGIN PUBLIC KEY" in person["publicKey"]["publicKeyPem"]
    assert person["assertionMethod"][0]["controller"] == jo
    assert person["inbox"] == f"{jo}/inbox"
    assert undefined_terms(person) == []
    note = {"id": alice.new_id("notes"), "type": "Note", "attributedTo": alice.id, "content": "hi", "to": [jo]}
    assert (await alice.post(person["inbox"], alice.activity("Create", note, to=[jo])))[0] == 202
    status, body = await alice.post(f"{london.base_url}/users/nobody/inbox", alice.activity("Create", note))
    assert status == 404 and "no actor" in body["error"]
    status, outbox = await get_json(person["outbox"])
    assert status == 200 and outbox["totalItems"] == 0

    _, page = await get_json(f"{members_url(london)}?page=1")
    assert page["orderedItems"] == [jo]

    # the sign-up rules, each refused with its reason
    assert await sign_up(london, "jo_smith") == 409
    assert await sign_up(london, "london") == 400  # the chapter's own name
    assert await sign_up(london, "Bad-Name") == 400
    assert await sign_up(london, "sam", password="short") == 400
    status, body = await get_json(f"{london.base_url}/.well-known/webfinger?resource=acct:sam@{host}")
    assert status == 404, body
    status, body = await get_json(f"{london.base_url}/users/sam")
    assert status == 404 and "no actor" in body["error"]
    stored = await fetch_all(london.db.reader, "SELECT password_hash FROM accounts")
    assert [r["password_hash"].split("$")[1] for r in stored] == ["argon2id"]
    assert all("correct horse" not in r["password_hash"] for r in stored)


async def test_nodeinfo_counts_accounts_and_members(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    _, before = await get_json(f"{london.base_url}/nodeinfo/2.1")
    assert before["usage"]["users"]["total"] == 1 and before["metadata"]["chapterhouse"]["members"] == 0

    assert await sign_up(london, "jo_smith") == 201
    assert await sign_up(london, "sam_jones") == 201
    await publish(london, {"type": "Add", "object": alice.id, "target": members_url(london)})
    await publish(london, {"type": "Add", "object": f"{london.base_url}/users/jo_smith", "target": members_url(london)})
    for version in ("2.0", "2.1"):
        _, info = await get_json(f"{london.base_url}/nodeinfo/{version}")
        assert info["usage"]["users"]["total"] == 3  # the chapter and two accounts (one still waiting)
        assert info["metadata"]["chapterhouse"]["members"] == 2


async def test_member_pages_need_the_right_role_and_a_csrf_token(make_node):
    london = await make_node("london", start_workers=False)
    assert await sign_up(london, "jo_smith") == 201
    await publish(london, {"type": "Add", "object": f"{london.base_url}/users/jo_smith", "target": members_url(london)})

    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{london.base_url}/admin/members", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/login?next=/admin/members"

    async with browser_like_session() as member:
        status, text, _ = await post_form(
            member, london, "/login", {"username": "jo_smith", "password": "wrong password!"}
        )
        assert status == 403 and "Wrong username or password." in text
        status, _, headers = await post_form(
            member,
            london,
            "/login",
            {"username": "jo_smith", "password": "correct horse battery"},
            allow_redirects=False,
        )
        assert status == 303 and headers["Location"] == "/account"
        async with member.get(f"{london.base_url}/admin/members") as response:
            assert response.status == 403 and "admin" in (await response.json())["error"]
        async with member.post(f"{london.base_url}/account/leave", data={}) as response:
            assert response.status == 403 and "CSRF" in (await response.json())["error"]
        assert await members.is_active_member(london.db.reader, "london", f"{london.base_url}/users/jo_smith")

    async with browser_like_session() as admin:
        status, _, _ = await post_form(admin, london, "/login/admin", {"token": ADMIN_TOKEN}, allow_redirects=False)
        assert status == 303
        async with admin.get(f"{london.base_url}/admin/members") as response:
            assert response.status == 200 and "jo_smith" in await response.text()
        async with admin.post(
            f"{london.base_url}/admin/members", data={"action": "remove", "actor": f"{london.base_url}/users/jo_smith"}
        ) as response:
            assert response.status == 403 and "CSRF" in (await response.json())["error"]
    assert await members.is_active_member(london.db.reader, "london", f"{london.base_url}/users/jo_smith")


async def test_a_member_with_the_admin_role_manages_members(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    assert await sign_up(london, "jo_smith") == 201
    await publish(
        london,
        {"type": "Add", "object": f"{london.base_url}/users/jo_smith", "target": members_url(london), "role": "admin"},
    )
    assert (await alice.post(london.inbox, alice.activity("Join", london.actor_id)))[0] == 202
    await london.settle()

    async with browser_like_session() as jo:
        status, _, _ = await post_form(
            jo, london, "/login", {"username": "jo_smith", "password": "correct horse battery"}
        )
        assert status == 200
        async with jo.get(f"{london.base_url}/admin/members") as response:
            page = await response.text()
            assert response.status == 200 and alice.id in page
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        async with jo.post(
            f"{london.base_url}/admin/members", data={"csrf_token": csrf, "action": "promote", "actor": alice.id}
        ) as response:
            assert response.status == 400 and "action must be one of" in await response.text()
        async with jo.post(
            f"{london.base_url}/admin/members", data={"csrf_token": csrf, "action": "approve", "actor": alice.id}
        ) as response:
            assert response.status == 200 and str(response.url).endswith("/admin/members")
    assert await members.is_active_member(london.db.reader, "london", alice.id)
    await london.settle()
    assert received_of(alice, "Add")[0]["object"] == alice.id  # approved from the page, federated like C2S


async def test_followers_only_posts_reach_followers_alone_addressed_as_their_create(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    assert (await bob.post(london.inbox, bob.activity("Follow", london.actor_id)))[0] == 202  # a follower only
    await london.settle()
    status, _, _ = await publish(london, {"type": "Add", "object": alice.id, "target": members_url(london)})
    assert status == 201  # a member who does not follow
    await london.settle()

    followers = f"{london.actor_id}/followers"
    status, result, _ = await publish(london, {"type": "Note", "content": "<p>For followers</p>", "to": [followers]})
    assert status == 201, result
    await london.settle()
    assert received_of(alice, "Create") == []
    [create] = received_of(bob, "Create")
    note = create["object"]
    assert create["to"] == [followers] and note["to"] == create["to"]  # the Note is addressed as its Create
    assert note.get("cc", []) == create.get("cc", [])
    public = "https://www.w3.org/ns/activitystreams#Public"
    assert public not in create.get("to", []) + create.get("cc", []) + note.get("to", []) + note.get("cc", [])

    assert (await signed_get(result["object"], bob))[0] == 200
    assert (await signed_get(result["object"], alice))[0] == 404  # a member, but no follower
    assert (await get_json(result["object"]))[0] == 404


async def test_pages_for_a_signed_in_person_are_never_cached(make_node):
    """/account shows one person's membership, and every page rendered for a signed-in viewer
    carries their CSRF token: ``Cache-Control: private, no-store``; an anonymous page does not."""
    london = await make_node("london", start_workers=False)
    assert await sign_up(london, "jo_smith") == 201
    await publish(london, {"type": "Add", "object": f"{london.base_url}/users/jo_smith", "target": members_url(london)})
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{london.base_url}/members") as response:
            assert response.status == 200 and "no-store" not in response.headers.get("Cache-Control", "")
    async with browser_like_session() as member:
        status, _, _ = await post_form(
            member, london, "/login", {"username": "jo_smith", "password": "correct horse battery"}
        )
        assert status == 200
        for path in ("/account", "/members"):
            async with member.get(f"{london.base_url}{path}") as response:
                assert response.status == 200 and "jo_smith" in await response.text()
                assert response.headers["Cache-Control"] == "private, no-store", path
    async with browser_like_session() as admin:
        await post_form(admin, london, "/login/admin", {"token": ADMIN_TOKEN})
        async with admin.get(f"{london.base_url}/admin/members") as response:
            assert response.status == 200 and response.headers["Cache-Control"] == "private, no-store"
