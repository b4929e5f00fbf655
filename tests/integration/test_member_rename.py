"""A member's new display name reaches the federation: an ``Update`` of their Person, signed with their key.

A member of London changes their name on the account page; London's followers, who saw the
member's posts in the chapter's boosts, get an ``Update`` of the member's ``Person`` with the new
name, signed with the member's own key: a bovine follower (an independent implementation)
verifies the signature against the member's published key, and the Update is delivered once. A
sign-up the admin has not approved yet is no actor of the federation: renaming it sends nothing.
"""

from __future__ import annotations

import asyncio

from tests.support.accounts import PASSWORD, approved_account
from tests.support.c2s import eventually, get_json
from tests.support.forms import browser_like_session, form_token, post_form


async def _rename(session, node, name: str) -> None:
    """The account page's form, as a browser sends it (its CSRF token from the page)."""
    async with session.get(f"{node.base_url}/account") as response:
        token = form_token(await response.text(), "/account/name")
    async with session.post(
        f"{node.base_url}/account/name", data={"csrf_token": token, "display_name": name}
    ) as response:
        assert response.status == 200 and "Your display name is changed." in await response.text(), response.status


def _updates(follower) -> list[dict]:
    return [r.activity for r in follower.received if r.activity.get("type") == "Update"]


async def test_a_members_new_name_is_sent_to_the_followers_signed_by_the_member(make_node, bovine_peer, remote_actor):
    london = await make_node("london")
    alice, ann = await bovine_peer("alice"), await remote_actor("ann")
    followed = await alice.follow(london.actor_id)
    assert followed["status"] == 202, followed
    await alice.wait_for(lambda e: e["activity"]["type"] == "Accept", timeout=15)
    assert (await ann.post(london.inbox, ann.activity("Follow", london.actor_id)))[0] == 202
    await eventually(lambda: asyncio.sleep(0, any(r.activity["type"] == "Accept" for r in ann.received)))

    async with browser_like_session() as session:
        maria = await approved_account(session, london, "maria", "Maria")
        await _rename(session, london, "Maria Rossi")

    entry = await alice.wait_for(lambda e: e["activity"]["type"] == "Update", timeout=15)
    assert entry["verified"] is True and entry["signer"] == maria, entry["error"]
    update = entry["activity"]
    assert update["actor"] == maria and update["object"]["id"] == maria and update["object"]["type"] == "Person"
    assert update["object"]["name"] == "Maria Rossi"
    status, person = await get_json(maria)
    assert status == 200 and person["name"] == "Maria Rossi"
    assert update["object"]["publicKey"] == person["publicKey"]

    received = await eventually(lambda: asyncio.sleep(0, _updates(ann)))
    assert received[0]["object"]["name"] == "Maria Rossi"
    assert f'keyId="{maria}#main-key"' in next(
        r.headers["Signature"] for r in ann.received if r.activity.get("type") == "Update"
    )
    await london.settle()
    assert len(_updates(ann)) == 1


async def test_renaming_an_account_not_yet_approved_sends_nothing(make_node, remote_actor):
    london = await make_node("london")
    ann = await remote_actor("ann")
    assert (await ann.post(london.inbox, ann.activity("Follow", london.actor_id)))[0] == 202
    await eventually(lambda: asyncio.sleep(0, any(r.activity["type"] == "Accept" for r in ann.received)))
    async with browser_like_session() as session:
        status, _, _ = await post_form(
            session, london, "/join", {"username": "nadia", "display_name": "Nadia", "password": PASSWORD}
        )
        assert status == 201
        assert (await post_form(session, london, "/login", {"username": "nadia", "password": PASSWORD}))[0] == 200
        await _rename(session, london, "Nadia K.")
    await london.settle()
    assert _updates(ann) == []
    status, _ = await get_json(f"{london.base_url}/users/nadia")
    assert status == 404
