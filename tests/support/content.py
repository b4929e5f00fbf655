"""Helpers for the content tests: members, a signed-in local member, and how an inbox item ended."""

from __future__ import annotations

import hashlib
import secrets
import time

from node.core import inbox_items as inbox_store
from node.core.appkeys import URLS
from node.membership import members, sessions
from tests.support.nodes import RunningNode


async def add_member(
    node: RunningNode, actor_id: str, *, state: str = "active", inbox: str | None = None, is_local: bool = False
) -> None:
    async with node.db.transaction() as conn:
        await members.upsert_member(
            conn,
            chapter=node.config.node.name,
            actor_id=actor_id,
            state=state,
            now=time.time(),
            inbox=inbox,
            is_local=is_local,
        )


async def signed_in_local_member(node: RunningNode, username: str) -> dict:
    """An active local member with an open session; returns the Playwright cookie to set.

    Local accounts (sign-up, login) belong to the members feature; the content tests only need
    someone signed in, so they write the membership and the session rows directly.
    """
    await add_member(node, node.app[URLS].actor(username), is_local=True)
    token = secrets.token_urlsafe(32)
    async with node.db.transaction() as conn:
        await sessions.insert_session(
            conn,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            username=username,
            is_admin=False,
            csrf_token=secrets.token_urlsafe(24),
            now=time.time(),
        )
    return {"name": sessions.COOKIE, "value": token, "url": node.base_url}


async def inbox_outcome(node: RunningNode, activity_id: str) -> tuple[str, str | None]:
    row = await inbox_store.get_by_activity_id(node.db.reader, activity_id)
    assert row is not None, f"{activity_id} never reached the inbox"
    return row["state"], row["last_error"]
