"""Telling members: a voter's receipt in a direct Note, and the outcome in a public Note."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from node.core import follows, publish, vocabulary
from node.core.clock import iso, to_epoch
from node.decisions import store
from outbox.compose import OutboxContext, create_of


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


def _create(octx: OutboxContext, note: dict) -> dict:
    return create_of(octx, note, {"to": note["to"], "cc": note["cc"]})


async def _publish_note(conn: aiosqlite.Connection, octx: OutboxContext, note: dict, inboxes: list[str]) -> None:
    create = _create(octx, note)
    await publish.record(
        conn,
        urls=octx.urls,
        username=octx.username,
        activity=create,
        inboxes=inboxes,
        now=to_epoch(octx.now),
        new_object=note,
    )


@dataclass(frozen=True)
class Receipt:
    """A counted ballot's receipt, for its voter (sent to ``sender``, whose key signed the ballot)."""

    voter: str
    sender: str
    question: str
    choice: str
    receipt: str
    proposal_id: str
    proof_url: str  # where the receipt's inclusion proof is served, once the tally is signed


def _receipt_note(octx: OutboxContext, receipt: Receipt) -> dict:
    content = (
        f"<p>Your ballot ({receipt.choice}) on {receipt.question} is counted. Your receipt:"
        f" <code>{receipt.receipt}</code></p>"
        f"<p>Once the vote closes and the chapter's tally is signed, your ballot's proof is at"
        f" {receipt.proof_url} (the results: {receipt.proposal_id}/results). Keep the receipt to yourself.</p>"
    )
    return _note(octx, content, [receipt.voter], [])


async def send_receipts(conn: aiosqlite.Connection, octx: OutboxContext, receipts: list[Receipt], inboxes) -> None:
    """Each voter's receipt, to them alone (a direct Note): with it they find their leaf and its
    proof under the signed root. ``inboxes``: where each sender's deliveries go (an actor not
    cached gets none; the Note is still kept, as for any direct Note whose inbox is unknown)."""
    published = []
    for receipt in receipts:
        note = _receipt_note(octx, receipt)
        create = _create(octx, note)
        published.append((create, note, [inboxes[receipt.sender]] if receipt.sender in inboxes else []))
    if published:
        await publish.record_many(
            conn, urls=octx.urls, username=octx.username, published=published, now=to_epoch(octx.now)
        )


async def tell_members(conn: aiosqlite.Connection, octx: OutboxContext, prop: store.Proposal, outcome: dict) -> None:
    """The outcome, public to the chapter's followers, when this node holds a copy."""
    if await store.copy_of(conn, prop.id) is None:
        return
    result = outcome.get("result") or {}
    content = f"<p>Outcome of {prop.id}: {result.get('status')} ({result.get('reason')}).</p>"
    followers = octx.urls.followers(octx.username)
    note = _note(octx, content, [vocabulary.PUBLIC], [followers])
    await _publish_note(conn, octx, note, await follows.follower_inboxes(conn, octx.username))
