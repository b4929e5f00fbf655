"""Local member accounts as people make them: signing up on ``/join``, approved by the admin, signed in."""

from __future__ import annotations

import aiohttp

from tests.support.c2s import publish
from tests.support.forms import post_form
from tests.support.nodes import RunningNode

PASSWORD = "correct horse battery staple"


async def approved_account(session: aiohttp.ClientSession, node: RunningNode, username: str, display_name: str = ""):
    """``username`` signs up on ``node``'s pages and the admin admits them (C2S ``Add`` to the members
    collection); then they sign in with ``session`` (a browser-like one). Their actor id."""
    status, _, _ = await post_form(
        session,
        node,
        "/join",
        {"username": username, "display_name": display_name or username.title(), "password": PASSWORD},
    )
    assert status == 201, status
    member = f"{node.base_url}/users/{username}"
    status, body, _ = await publish(node, {"type": "Add", "object": member, "target": f"{node.actor_id}/members"})
    assert status == 201, body
    status, _, _ = await post_form(session, node, "/login", {"username": username, "password": PASSWORD})
    assert status == 200, status
    return member
