"""Recording what the decisions room sends, in the caller's transaction (delivered by the outbox worker)."""

from __future__ import annotations

import aiosqlite

from node.core import publish, vocabulary
from node.core.clock import to_epoch
from node.core.urls import Urls


async def send(conn: aiosqlite.Connection, urls: Urls, username: str, activity: dict, inbox: str | None, now) -> None:
    await publish.record(
        conn, urls=urls, username=username, activity=activity, inboxes=[inbox] if inbox else [], now=to_epoch(now)
    )


async def send_document(
    conn: aiosqlite.Connection, urls: Urls, username: str, document: dict, *, to: str, inbox: str | None, now
) -> None:
    """An ``Add`` of a signed tally, aggregate or outcome (unchanged) to ``to``."""
    add = vocabulary.decision_delivery(
        urls, actor=urls.actor(username), document=document, proposal=document["proposal"], to=to, now=now
    )
    await send(conn, urls, username, add, inbox, now)


async def reject(conn: aiosqlite.Connection, urls: Urls, username: str, answered: dict, *, to: str, inbox, reason, now):
    """A ``Reject`` of a received Add whose ``content`` says why, to the chapter it concerns."""
    refusal = vocabulary.refusal(urls, actor=urls.actor(username), answered=answered, to=to, reason=reason, now=now)
    await send(conn, urls, username, refusal, inbox, now)
