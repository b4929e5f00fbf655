"""Issue 14: what an outside security review found, each as the attack it was, on loopback.

Every test here failed before its fix: it sends what the reviewer sent (a real signed request,
a real browser-like session, a real peer on 127.0.0.1 that misbehaves) and checks what a
remote admin or a user would see. The nodes run without background workers unless the test
needs them, and step them by hand.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp

from federation.signatures import sign_request
from node.core.config import AccountsConfig, AdminConfig, ServerConfig
from node.core.db import fetch_all
from node.polls import model as polls
from tests.support.c2s import eventually, get_json, publish
from tests.support.forms import browser_like_session, form_token, post_form
from tests.support.nodes import ADMIN_TOKEN, node_config
from tests.support.polls import admin_adds_member, mastodon_vote, open_poll
from tests.support.raw_peer import RawPeer
from tests.support.remote_actor import new_rsa_key

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = "application/activity+json"


def refused(status: int, body: dict, expected: int, *words: str) -> None:
    assert status == expected, body
    assert isinstance(body.get("error"), str) and body["error"], body
    for word in words:
        assert word.lower() in body["error"].lower(), body


async def signed_get(url: str, actor) -> tuple[int, dict]:
    headers = sign_request(
        "GET", url, None, key_id=actor.key_id, private_key=actor.key, now=datetime.now(UTC), headers={"Accept": AS_JSON}
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            return response.status, await response.json(content_type=None)


# --- 8. signatures are bound to this node's host -------------------------------------------------


async def test_a_post_signed_for_another_host_is_refused(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    follow = alice.activity("Follow", london.actor_id)
    body = json.dumps(follow).encode()
    headers = alice.signed_headers("https://other.example/inbox", body)
    assert headers["Host"] == "other.example"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{london.base_url}/inbox", data=body, headers=headers) as response:
            status, answer = response.status, await response.json(content_type=None)
    refused(status, answer, 401, "signed for the host", "other.example")
    assert await london.inbox_worker.run_single_cycle() == 0
    assert (await alice.post(f"{london.base_url}/inbox", follow))[0] == 202  # signed for this node: accepted


# --- 9. an object proof relaxes the object-host check only once it verifies --------------------------


async def test_a_vote_on_another_host_with_a_garbage_proof_is_refused(make_node, remote_actor):
    node = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    await admin_adds_member(node, alice.id)
    question_id = (await open_poll(node, "oneOf", ["bread", "cheese"]))["object"]
    vote = mastodon_vote(alice.id, question_id, node.actor_id, "bread", 1)
    vote["object"]["id"] = "http://other.example/notes/1"
    without_proof = await alice.post(node.inbox, vote)
    refused(*without_proof, 400, "not on its actor's host")

    for proof in ({"type": "DataIntegrityProof", "proofValue": "garbage"}, "garbage"):
        status, answer = await alice.post(node.inbox, {**vote, "proof": proof})
        refused(status, answer, 400, "not on its actor's host")
    await node.settle()
    assert await polls.ballots_of(node.db.reader, question_id) == []
    _, question = await get_json(question_id)
    assert question["votersCount"] == 0


# --- 3. one host cannot claim another host's key ids -------------------------------------------------


async def test_an_actor_cannot_list_a_key_id_on_another_host(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    eve, victor = await remote_actor("eve"), await remote_actor("victor")
    honest = eve.document()
    claimed = {"id": victor.key_id, "owner": eve.id, "publicKeyPem": honest["publicKey"]["publicKeyPem"]}
    eve.document = lambda: {**honest, "publicKey": [honest["publicKey"], claimed]}

    assert (await eve.post(london.inbox, eve.activity("Follow", london.actor_id)))[0] == 202  # eve's actor is fetched
    stored = await fetch_all(london.db.reader, "SELECT key_id, actor_id FROM remote_keys")
    assert [(row["key_id"], row["actor_id"]) for row in stored] == [(eve.key_id, eve.id)]

    like = eve.activity("Like", london.actor_id)
    body = json.dumps(like).encode()
    status, answer = await eve.post(
        london.inbox, body, headers=eve.signed_headers(london.inbox, body, key_id=victor.key_id)
    )
    refused(status, answer, 401, "signature")
    keys = {
        row["key_id"]: row["actor_id"]
        for row in await fetch_all(london.db.reader, "SELECT key_id, actor_id FROM remote_keys")
    }
    assert keys.get(victor.key_id) in (None, victor.id)  # victor's key id belongs to victor alone


# --- 2. pinning does not leak members-only posts -------------------------------------------------------


async def test_a_pinned_members_only_note_is_served_to_members_alone(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice, bob = await remote_actor("alice"), await remote_actor("bob")
    assert (await bob.post(london.inbox, bob.activity("Follow", london.actor_id)))[0] == 202  # a follower only
    await admin_adds_member(london, alice.id)
    await london.settle()
    members = f"{london.actor_id}/members"
    status, created, _ = await publish(london, {"type": "Note", "content": "<p>Members only</p>", "to": [members]})
    assert status == 201, created
    featured = f"{london.actor_id}/featured"
    status, pin, _ = await publish(london, {"type": "Add", "object": created["object"], "target": featured})
    assert status == 201, pin
    await london.settle()

    for reader in (None, bob):  # anyone, and a follower who is no member
        status, collection = await get_json(featured) if reader is None else await signed_get(featured, reader)
        assert status == 200 and "orderedItems" not in collection and collection["totalItems"] == 0, collection
    status, collection = await signed_get(featured, alice)
    assert [item["id"] for item in collection["orderedItems"]] == [created["object"]]

    [add] = [r.activity for r in alice.received if r.activity["type"] == "Add" and r.activity["target"] == featured]
    assert PUBLIC not in add.get("to", []) + add.get("cc", []) and add["to"] == [members], add
    assert not [r for r in bob.received if r.activity["type"] == "Add"]
    assert (await get_json(pin["id"]))[0] == 404  # the Add itself is as private as its object
    _, outbox = await get_json(f"{london.outbox}?page=1")
    assert pin["id"] not in [item["id"] for item in outbox.get("orderedItems", [])]


# --- 4. admin sessions end when the admin token rotates ------------------------------------------------


async def admin_sign_in(session: aiohttp.ClientSession, node, token: str) -> int:
    status, _text, _ = await post_form(session, node, "/login/admin", {"token": token}, allow_redirects=False)
    return status


async def test_an_admin_session_ends_when_the_admin_token_rotates(make_node, tmp_path):
    config = node_config(tmp_path, "london")
    london = await make_node(config=config, start_workers=False)
    async with browser_like_session() as admin:
        assert await admin_sign_in(admin, london, ADMIN_TOKEN) == 303
        async with admin.get(f"{london.base_url}/admin/members", allow_redirects=False) as response:
            assert response.status == 200
        await london.stop()
        rotated = replace(config, admin=AdminConfig(token="a-brand-new-admin-token-42"))
        london = await make_node(config=rotated, start_workers=False)
        async with admin.get(f"{london.base_url}/admin/members", allow_redirects=False) as response:
            assert response.status == 403 and "admin" in (await response.json())["error"]
        async with admin.get(f"{london.base_url}/polls/new", allow_redirects=False) as response:
            assert response.status in (303, 403)
        assert await admin_sign_in(admin, london, ADMIN_TOKEN) == 403  # the old token opens nothing new
        assert await admin_sign_in(admin, london, "a-brand-new-admin-token-42") == 303
        async with admin.get(f"{london.base_url}/admin/members", allow_redirects=False) as response:
            assert response.status == 200


# --- 5. sign-in and join forms need their CSRF token; next stays on this site --------------------------

SIGN_IN_FORMS = [
    ("/login", {"username": "jo_smith", "password": "correct horse battery"}),
    ("/login/admin", {"token": ADMIN_TOKEN}),
    ("/join", {"username": "sam_lee", "password": "correct horse battery"}),
]


async def test_sign_in_and_join_refuse_a_post_without_the_forms_token(make_node):
    london = await make_node("london", start_workers=False)
    async with browser_like_session() as browser:
        assert (await post_form(browser, london, "/join", SIGN_IN_FORMS[2][1] | {"username": "jo_smith"}))[0] == 201
    for path, data in SIGN_IN_FORMS:
        async with browser_like_session() as victim:  # another site posts the form in the victim's browser
            async with victim.post(f"{london.base_url}{path}", data=data, allow_redirects=False) as response:
                refused(response.status, await response.json(), 403, "CSRF")
            async with victim.get(f"{london.base_url}{path}") as response:
                token = form_token(await response.text(), path)
            assert token
            async with browser_like_session() as other:  # a token, but not the one of this browser's cookie
                async with other.post(
                    f"{london.base_url}{path}", data={**data, "csrf_token": token}, allow_redirects=False
                ) as response:
                    refused(response.status, await response.json(), 403, "CSRF")
                assert not [c for c in other.cookie_jar if c.key == "chapterhouse_session"]
    assert [row["username"] for row in await fetch_all(london.db.reader, "SELECT username FROM accounts")] == [
        "jo_smith"
    ]


OFF_SITE = [
    "/\t/evil.example/path",
    "/\\evil.example/path",
    "\\/evil.example",
    " //evil.example/",
    "\t//evil.example",
    "/\n/evil.example",
    "//evil.example",
    "https://evil.example/",
    "/\r\n/evil.example",
    "\x00//evil.example",
    "javascript:alert(1)",
]


async def test_next_never_leads_off_the_site(make_node):
    london = await make_node("london", start_workers=False)
    for wanted in [*OFF_SITE, "/admin/members?page=2"]:
        async with browser_like_session() as admin:
            status, _, headers = await post_form(
                admin, london, "/login/admin", {"token": ADMIN_TOKEN, "next": wanted}, allow_redirects=False
            )
            assert status == 303, wanted
            expected = "/admin/members?page=2" if wanted.startswith("/admin") else "/"
            assert headers["Location"] == expected, (wanted, headers["Location"])


# --- 6. sign-in and sign-up are throttled; weak passwords refused; waiting accounts unseen ------------


async def test_guessing_a_password_closes_the_account_for_a_while(make_node):
    london = await make_node("london", start_workers=False)
    async with browser_like_session() as browser:
        assert (
            await post_form(browser, london, "/join", {"username": "jo_smith", "password": "correct horse battery"})
        )[0] == 201
    async with browser_like_session() as guesser:
        statuses = [
            (await post_form(guesser, london, "/login", {"username": "jo_smith", "password": f"guess number {n}"}))[0]
            for n in range(12)
        ]
        assert statuses[:10] == [403] * 10 and statuses[10:] == [429, 429]
        status, page, headers = await post_form(
            guesser,
            london,
            "/login",
            {"username": "jo_smith", "password": "correct horse battery"},
            allow_redirects=False,
        )
        assert status == 429 and int(headers["Retry-After"]) > 0 and "Too many sign-in attempts" in page
        statuses = [
            (await post_form(guesser, london, "/login/admin", {"token": f"guess-{n}-0123456789"}))[0] for n in range(10)
        ]
        status, _, headers = await post_form(
            guesser, london, "/login/admin", {"token": ADMIN_TOKEN}, allow_redirects=False
        )
        assert status == 429 and "Retry-After" in headers  # the address is closed too, the admin's form included
        assert not [c for c in guesser.cookie_jar if c.key == "chapterhouse_session"]


async def test_the_admin_token_cannot_be_guessed_from_many_addresses_either(make_node, tmp_path):
    config = node_config(tmp_path, "london")
    london = await make_node(
        config=replace(config, accounts=AccountsConfig(login_per_address_burst=1000)), start_workers=False
    )
    async with browser_like_session() as guesser:
        statuses = {
            (await post_form(guesser, london, "/login/admin", {"token": f"guess-{n}-0123456789"}))[0] for n in range(10)
        }
        assert statuses == {403}
        status, _, _ = await post_form(guesser, london, "/login/admin", {"token": ADMIN_TOKEN}, allow_redirects=False)
        assert status == 429


WEAK = ["aaaaaaaaaa", "1234567890", "qwertyuiop", "Password123", "abababab12", "sam_lee_123", "9876543210!"]


async def test_sign_ups_are_throttled_and_weak_passwords_refused(make_node):
    london = await make_node("london", start_workers=False)
    async with browser_like_session() as browser:
        for password in WEAK:
            status, page, _ = await post_form(browser, london, "/join", {"username": "sam_lee", "password": password})
            assert status == 400 and "password" in page, password
        statuses = [
            (
                await post_form(
                    browser,
                    london,
                    "/join",
                    {
                        "username": f"sam_{n}",
                        "display_name": "IOPS London (official account)",
                        "password": "correct horse battery",
                    },
                )
            )[0]
            for n in range(7)
        ]
        assert statuses == [201] * 5 + [429] * 2
    assert len(await fetch_all(london.db.reader, "SELECT username FROM accounts")) == 5


async def test_a_waiting_sign_up_is_invisible_to_the_federation_until_approved(make_node, remote_actor):
    london = await make_node("london", start_workers=False)
    alice = await remote_actor("alice")
    host = london.config.node.host
    async with browser_like_session() as browser:
        assert (
            await post_form(
                browser,
                london,
                "/join",
                {
                    "username": "sam_lee",
                    "display_name": "IOPS London (official account)",
                    "password": "correct horse battery",
                },
            )
        )[0] == 201
    sam = f"{london.base_url}/users/sam_lee"
    finger = f"{london.base_url}/.well-known/webfinger?resource=acct:sam_lee@{host}"
    note = {"id": alice.new_id("notes"), "type": "Note", "attributedTo": alice.id, "content": "hi", "to": [sam]}
    assert (await get_json(finger))[0] == 404
    assert (await get_json(f"{london.base_url}/.well-known/webfinger?resource={sam}"))[0] == 404
    assert (await get_json(sam))[0] == 404
    assert (await get_json(f"{sam}/outbox"))[0] == 404
    assert (await alice.post(f"{sam}/inbox", alice.activity("Create", note, to=[sam])))[0] == 404

    status, result, _ = await publish(london, {"type": "Add", "object": sam, "target": f"{london.actor_id}/members"})
    assert status == 201, result
    assert (await get_json(finger))[0] == 200
    status, person = await get_json(sam)
    assert status == 200 and person["id"] == sam
    assert (await alice.post(f"{sam}/inbox", alice.activity("Create", note, to=[sam])))[0] == 202


# --- 1. a key-fetch tarpit cannot keep honest senders out ----------------------------------------------

TARPIT_POSTS = 40  # bounded: each is one request to the node and at most one GET to the tarpit


async def _post_signed_by_tarpit_key(node, tarpit: RawPeer, index: int, key) -> tuple[int, dict]:
    actor_id = f"{tarpit.base}/users/t{index}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{tarpit.base}/activities/{index}",
        "type": "Follow",
        "actor": actor_id,
        "object": node.actor_id,
    }
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        node.inbox,
        body,
        key_id=f"{actor_id}#main-key",
        private_key=key,
        now=datetime.now(UTC),
        headers={"Content-Type": AS_JSON},
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(node.inbox, data=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)


async def test_a_key_fetch_tarpit_does_not_keep_an_honest_follow_out(make_node, remote_actor):
    # a small delivery pool (16 connections), as the 64 of the default config were for 150 posts
    london = await make_node("london", start_workers=False, delivery_concurrency=4, fetch_timeout_seconds=3)
    alice = await remote_actor("alice")
    tarpit = await RawPeer(behaviour="silent").start()  # holds every GET open until the client gives up
    try:
        key = new_rsa_key()
        posts = [asyncio.ensure_future(_post_signed_by_tarpit_key(london, tarpit, n, key)) for n in range(TARPIT_POSTS)]
        # until the tarpit holds 16 GETs (all the connections of a pool of 16), or every other post was refused
        await eventually(lambda: _true(len(tarpit.requests) + sum(post.done() for post in posts) >= 16))
        status, body = await alice.post(london.inbox, alice.activity("Follow", london.actor_id))
        assert status == 202, body  # the stranger's honest Follow is not kept waiting for a connection
        answers = await asyncio.gather(*posts)
        for status, body in answers:
            refused(status, body, 401, "signing key")
        assert len(tarpit.requests) <= 2  # [federation] key_fetches_per_host: at most 2 GETs held open

        before, fetched = len(tarpit.requests), int(tarpit.requests[0].path.split("/t")[-1])
        status, body = await _post_signed_by_tarpit_key(london, tarpit, fetched, key)
        refused(status, body, 401, "recent failure")  # remembered: no new GET to the tarpit
        assert len(tarpit.requests) == before
    finally:
        await tarpit.stop()


async def _true(value):
    return bool(value)


# --- 7. slow headers and slow bodies do not hold connections ---------------------------------------------

STILL_OPEN = b"(the server kept the connection open)"
SLOW_CLIENTS = 6  # bounded: a handful of loopback connections, each trickling at most 40 bytes


async def _trickle(port: int, head: bytes, body: bytes = b"", *, every: float = 0.2) -> bytes:
    """Send ``head`` at once, then ``body`` a byte at a time; what the server answered before closing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        for byte in body:
            if reader.at_eof() or len(reader._buffer):
                break
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every)
    except (ConnectionError, OSError):
        pass  # the server hung up while we were still sending
    try:
        return await asyncio.wait_for(reader.read(), timeout=5)
    except TimeoutError:  # (a TimeoutError is an OSError: this goes first)
        return STILL_OPEN
    except (ConnectionError, OSError):
        return b""
    finally:
        writer.close()


async def test_slow_headers_and_slow_bodies_are_cut_off(make_node, tmp_path):
    config = node_config(tmp_path, "london")
    bounds = ServerConfig(max_connections=8, header_timeout_seconds=1, body_timeout_seconds=1)
    london = await make_node(config=replace(config, server=bounds), start_workers=False)
    port = london.config.node.listen_port
    slow_headers = b"GET /users/london HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40  # 8 s at 0.2 s a byte
    answers = await asyncio.gather(*[_trickle(port, b"", slow_headers) for _ in range(SLOW_CLIENTS)])
    assert answers == [b""] * SLOW_CLIENTS  # each closed without an answer, long before its headers were done

    head = (
        f"POST /users/london/inbox HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/activity+json\r\nContent-Length: 40\r\n\r\n"
    ).encode()
    answer = await _trickle(port, head, b"{" + b" " * 39)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"longer than 1 s" in answer

    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(bounds.max_connections)]
    try:
        status, actor = await get_json(london.actor_id)  # a ninth connection: the longest idle one makes room
        assert status == 200 and actor["id"] == london.actor_id
        assert london.runner.guard.open_connections <= bounds.max_connections
    finally:
        for _, writer in idle:
            writer.close()
