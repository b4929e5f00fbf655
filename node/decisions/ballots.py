"""Ballots on a chapter's copy: counted by the polls room's code against the FROZEN roll, then a receipt.

A ``registry.reply_handlers["Question"]`` wrapper: a reply to a question that copies a
proposal goes through ``node.polls.inbound.take_ballot`` with the roll in place of "is an
active member now" (members on the frozen roll, first valid ballot, before close; refused
ballots kept with their reason). Each counted ballot gets a random receipt and an anonymous
leaf (``tally.leaf``); the receipt goes to the voter in a direct Note (their inbox is the
cached actor whose key signed the ballot). Replies to any other question go on as before.

A member's vote on the copy's page (``registry.local_vote``, :func:`local_voting`) is
counted the same way, and its receipts are shown on the page that answers the vote.

The leaves and receipts of a worker batch are written together, once, before its commit
(``ctx.once_per_batch``): a few statements for 64 ballots instead of five each. A ballot
rolled back is dropped from the batch with its receipt, so leaves and counted ballots always
match.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial

import aiosqlite

from federation.activitystreams import id_of
from inbox.handlers import InboxContext, OncePerBatch
from node.core import objects
from node.decisions import store, telling
from node.decisions import tally as tallies
from node.polls import inbound as polls_in
from node.polls import model as polls

NOT_ON_ROLL = "not on the frozen roll of this decision"
RECEIPTS = "decision receipts"


def roll_checks(on_roll: Callable[[aiosqlite.Connection, str], Awaitable[bool]]) -> tuple[polls.BallotCheck, ...]:
    """The polls room's checks, with "on the proposal's frozen roll" for "an active member now"."""

    async def check_roll(conn: aiosqlite.Connection, ballot: polls.Ballot) -> str | None:
        return None if await on_roll(conn, ballot.voter) else NOT_ON_ROLL

    return polls.checks_with_membership(check_roll)


def batch_roll(batch: OncePerBatch, proposal_id: str):
    """Is a voter on the frozen roll: the roll read once per inbox batch."""

    async def on_roll(conn: aiosqlite.Connection, voter: str) -> bool:
        roll = await batch.remember(("decision roll", proposal_id), partial(store.roll_members, conn, proposal_id))
        return voter in roll

    return on_roll


@dataclass(frozen=True)
class CountedBallot:
    """A ballot counted on a copy, waiting for its leaf and receipt."""

    proposal_id: str
    proposal_question: str
    voter: str
    sender: str
    choice: str


@dataclass(frozen=True)
class BallotOnCopy:
    """A ballot taken on a copy in this batch: it gets a leaf and a receipt if the batch counts it."""

    counted: CountedBallot
    pending: polls.PendingBallot


def new_leaf(
    chapter_id: str, ballot: CountedBallot, copy_id: str
) -> tuple[tuple[str, dict, str, str], telling.Receipt]:
    """A fresh random receipt, the anonymous leaf that commits to it, and the voter's receipt
    (with where its inclusion proof is served: ``<copy id>/receipts/<receipt>``)."""
    receipt = secrets.token_hex(16)
    leaf = tallies.leaf(ballot.proposal_id, chapter_id, receipt, ballot.proposal_question, ballot.choice)
    told = telling.Receipt(
        ballot.voter,
        ballot.sender,
        ballot.proposal_question,
        ballot.choice,
        receipt,
        ballot.proposal_id,
        f"{copy_id}/receipts/{receipt}",
    )
    return (ballot.proposal_id, leaf, receipt, ballot.voter), told


async def _copy_ids(conn: aiosqlite.Connection, proposal_ids: set[str]) -> dict[str, str]:
    copies = {proposal_id: await store.copy_of(conn, proposal_id) for proposal_id in proposal_ids}
    return {proposal_id: copy["copy_id"] for proposal_id, copy in copies.items() if copy is not None}


def leaves_and_receipts(ctx: InboxContext):
    """The batch's work: every counted ballot's leaf (in order), then the receipts, in a few statements."""
    octx = telling.outbox_context(ctx)

    async def write(conn, taken: list[BallotOnCopy]) -> None:
        counted = [entry.counted for entry in taken if entry.pending.counted]
        if not counted:
            return
        copy_ids = await _copy_ids(conn, {ballot.proposal_id for ballot in counted})
        made = [new_leaf(ctx.chapter_id, ballot, copy_ids[ballot.proposal_id]) for ballot in counted]
        await store.insert_leaves(conn, [leaf for leaf, _ in made])
        inboxes = await ctx.remote_actors.store.delivery_inboxes(conn, sorted({b.sender for b in counted}))
        await telling.send_receipts(conn, octx, [receipt for _, receipt in made], inboxes)

    return write


def local_voting(inner):
    """A vote on the pages (``registry.local_vote``): on a copy, counted against the frozen roll,
    and each counted choice gets its leaf and a receipt, which the page shows the voter (a local
    member has no inbox to send a Note to)."""

    async def cast(conn: aiosqlite.Connection, question: polls.Question, voter: str, choices: list[str], now: float):
        copied = await store.copied_question(conn, question.id)
        if copied is None:
            return await inner(conn, question, voter, choices, now)
        proposal_id = copied["proposal_id"]
        checks = roll_checks(partial(_on_frozen_roll, proposal_id))
        outcomes = await polls.cast_local_vote(conn, question, voter, choices, now, checks)
        stored = await objects.get(conn, question.id)
        chapter_id = id_of(stored.data.get("attributedTo")) if stored else None
        if chapter_id is None:
            raise polls.VoteRefused("this copy names no chapter")
        copy_id = (await _copy_ids(conn, {proposal_id}))[proposal_id]
        given, leaves = [], []
        for outcome in outcomes:
            if not outcome.counted or outcome.choice is None:
                given.append(outcome)
                continue
            counted = CountedBallot(proposal_id, copied["proposal_question"], voter, voter, outcome.choice)
            leaf, receipt = new_leaf(chapter_id, counted, copy_id)
            leaves.append(leaf)
            given.append(replace(outcome, receipt=receipt.receipt))
        await store.insert_leaves(conn, leaves)
        return given

    return cast


async def _on_frozen_roll(proposal_id: str, conn: aiosqlite.Connection, voter: str) -> bool:
    return await store.on_roll(conn, proposal_id, voter)


def voting(inner):
    async def handle(ctx: InboxContext, activity: dict, created: dict, parent: objects.StoredObject) -> None:
        batch = ctx.once_per_batch
        copied = await batch.remember(("decision copy", parent.id), partial(store.copied_question, ctx.conn, parent.id))
        if copied is None:
            await inner(ctx, activity, created, parent)
            return
        question = await batch.remember(("poll question", parent.id), partial(polls.get_question, ctx.conn, parent.id))
        checks = roll_checks(batch_roll(batch, copied["proposal_id"]))
        pending = await polls_in.take_ballot(ctx, activity, created, parent, question, checks)
        if pending is None or pending.counted is False:
            return
        ballot = pending.ballot
        sender = id_of(activity.get("actor")) or ballot.voter
        counted = CountedBallot(copied["proposal_id"], copied["proposal_question"], ballot.voter, sender, ballot.choice)
        batch.add(RECEIPTS, leaves_and_receipts(ctx), BallotOnCopy(counted, pending))
        ctx.queued_deliveries = True

    return handle
