"""Telling members: a voter's receipt and an exclusion in direct Notes, and the outcome in a public Note."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from inbox.handlers import InboxContext
from node.core import follows, publish, vocabulary
from node.core.clock import iso, to_epoch
from node.core.db import Connection
from node.core.i18n import N_, load_languages
from node.decisions import copy_store, proposal, store, words
from outbox.compose import Authoring, create_of


def authoring(ctx: InboxContext) -> Authoring:
    """What the polls room's document builders need, from an inbox handler's context."""
    return Authoring(ctx.config, ctx.urls, ctx.remote_actors, ctx.chapter, ctx.now, ctx.registry)


def _note(octx: Authoring, content: str, to: list[str], cc: list[str]) -> dict:
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


def _create(octx: Authoring, note: dict) -> dict:
    return create_of(octx, note, {"to": note["to"], "cc": note["cc"]})


async def _publish_note(conn: Connection, octx: Authoring, note: dict, inboxes: list[str]) -> None:
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
    receipt: str
    proposal_id: str
    proof_url: str  # where the receipt's inclusion proof is served, once the tally is signed


def _receipt_note(octx: Authoring, receipt: Receipt) -> dict:
    content = (
        f"<p>Your ballot on {escape(receipt.question)} is counted. Your receipt, the same for every question"
        f" of this decision: <code>{receipt.receipt}</code></p>"
        f"<p>Once the vote closes and the chapter's tally is signed, your answers and their proof are at"
        f" {escape(receipt.proof_url)} (the results: {escape(receipt.proposal_id)}/results)."
        f" Keep the receipt to yourself.</p>"
    )
    return _note(octx, content, [receipt.voter], [])


async def tell_excluded(conn: Connection, octx: Authoring, proposal_id: str, voters: list[str]) -> None:
    """Members the issuer's exclusions count in another chapter: told, each alone, why their ballot
    here does not count (a member of this node without an inbox sees it on the copy's page)."""
    inboxes = await octx.remote_actors.store.delivery_inboxes(conn, voters)
    content = (
        "<p>You are on the roll of another chapter of the organisation too. For the decision"
        f" {escape(proposal_id)}, your ballot counts there, once; a ballot sent here is not counted.</p>"
    )
    published = []
    for voter in voters:
        note = _note(octx, content, [voter], [])
        published.append((_create(octx, note), note, [inboxes[voter]] if voter in inboxes else []))
    if published:
        await publish.record_many(
            conn, urls=octx.urls, username=octx.username, published=published, now=to_epoch(octx.now)
        )


async def send_receipts(conn: Connection, octx: Authoring, receipts: list[Receipt], inboxes) -> None:
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


async def tell_members(conn: Connection, octx: Authoring, prop: store.Proposal, outcome: dict) -> None:
    """The outcome, public to the chapter's followers, when this node holds a copy."""
    if await copy_store.copy_of(conn, prop.id) is None:
        return
    code = octx.config.node.language
    language = load_languages(code).get(code)
    say = language.gettext if language is not None else str
    result = outcome.get("result") or {}
    status = words.STATUS.get(str(result.get("status")))
    said = say(status) if status is not None else str(result.get("status"))
    agreement = result.get("agreement")
    share = f" ({say(N_('{share} agree', share=f'{agreement:.0%}'))})" if isinstance(agreement, float) else ""
    content = (
        f"<p><strong>{escape(proposal.title_of(prop.document))}</strong></p>"
        f"<p>{escape(say(N_('The decision of the whole organisation: {outcome}', outcome=said)))}{escape(share)}</p>"
        f'<p><a href="{escape(prop.id)}/results">{escape(say("See the results"))}</a></p>'
    )
    followers = octx.urls.followers(octx.username)
    note = vocabulary.with_language(_note(octx, content, [vocabulary.PUBLIC], [followers]), code)
    await _publish_note(conn, octx, note, await follows.follower_inboxes(conn, octx.username))
