"""Telling members: a voter's receipt in a direct Note, and the outcome in a public Note."""

from __future__ import annotations

import aiosqlite

from node.core import follows, publish, vocabulary
from node.core.clock import iso, to_epoch
from node.decisions import store
from outbox.compose import OutboxContext


def outbox_context(ctx) -> OutboxContext:
    """What the polls room's document builders need, from an inbox handler's context."""
    return OutboxContext(ctx.config, ctx.urls, None, ctx.remote_actors, ctx.chapter, ctx.now, ctx.registry)


def _note(octx: OutboxContext, content: str, to: list[str], cc: list[str]) -> dict:
    note_id = octx.urls.new_object_id()
    return {
        "@context": vocabulary.context(),
        "id": note_id,
        "type": "Note",
        "attributedTo": octx.actor_id,
        "content": content,
        "published": iso(octx.now),
        "url": note_id,
        "to": to,
        "cc": cc,
    }


async def _publish_note(conn: aiosqlite.Connection, octx: OutboxContext, note: dict, inboxes: list[str]) -> None:
    create = vocabulary.activity(
        "Create",
        octx.urls,
        actor=octx.actor_id,
        now=octx.now,
        object=note,
        context_value=note["@context"],
        to=note["to"],
        cc=note["cc"],
    )
    await publish.record(
        conn,
        urls=octx.urls,
        username=octx.username,
        activity=create,
        inboxes=inboxes,
        now=to_epoch(octx.now),
        new_object=note,
    )


async def send_receipt(
    conn: aiosqlite.Connection,
    octx: OutboxContext,
    *,
    voter: str,
    inbox: str | None,
    question: str,
    choice: str,
    receipt: str,
    proposal_id: str,
) -> None:
    """The voter's receipt, to them alone: with it they find their leaf and its proof under the signed root."""
    content = (
        f"<p>Your ballot ({choice}) on {question} is counted. Your receipt: <code>{receipt}</code></p>"
        f"<p>Check it at {proposal_id}/results once the tally is signed; keep it to yourself.</p>"
    )
    await _publish_note(conn, octx, _note(octx, content, [voter], []), [inbox] if inbox else [])


async def tell_members(conn: aiosqlite.Connection, octx: OutboxContext, prop: store.Proposal, outcome: dict) -> None:
    """The outcome, public to the chapter's followers, when this node holds a copy."""
    if await store.copy_of(conn, prop.id) is None:
        return
    result = outcome.get("result") or {}
    content = f"<p>Outcome of {prop.id}: {result.get('status')} ({result.get('reason')}).</p>"
    followers = octx.urls.followers(octx.username)
    note = _note(octx, content, [vocabulary.PUBLIC], [followers])
    await _publish_note(conn, octx, note, await follows.follower_inboxes(conn, octx.username))
