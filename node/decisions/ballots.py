"""Ballots on a chapter's copy: counted by the polls room's code against the FROZEN roll, then a receipt.

A ``registry.reply_handlers["Question"]`` step: a reply to a question that copies a proposal
goes through ``node.polls.inbound.take_ballot`` with the roll in place of "is an active
member now" (members on the frozen roll and not excluded by the issuer's exclusions, first
valid ballot, received before close; refused ballots kept with their reason). Each counted
choice is kept by voter and question (``copy_store.insert_choices``), and each voter gets ONE
random receipt for the proposal, sent in a direct Note with their first counted ballot
(their inbox is the cached actor whose key signed it). Replies to any other question go on
as before. The leaves are built from these at the close (``tallying``), never before.

A member's vote on the copy's page (``registry.local_vote``, :func:`local_vote_on_copy`) is
counted the same way, and its receipt is shown on the page that answers the vote.

The choices and receipts of a worker batch are written together, once, before its commit
(``ctx.once_per_batch``). A ballot rolled back is dropped from the batch with its choice.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial

from federation.activitystreams import id_of
from inbox.handlers import InboxContext, OncePerBatch
from node.core.clock import to_epoch
from node.core.db import Connection
from node.core.i18n import N_
from node.decisions import copy_store, telling
from node.polls import inbound as polls_in
from node.polls import model as polls

NOT_ON_ROLL = N_("not on the frozen roll of this decision")
COUNTED_ELSEWHERE = N_(
    "on the roll of another chapter too, where this member's ballot counts (the issuer's exclusions)"
)
RECEIPTS = "decision receipts"

RollReader = Callable[[Connection, str], Awaitable[frozenset[str]]]


def roll_checks(proposal_id: str, voters: RollReader) -> tuple[polls.BallotCheck, ...]:
    """The polls room's checks, with "may vote on this proposal here" for "an active member now"."""

    async def check_roll(conn: Connection, ballot: polls.Ballot) -> str | None:
        if ballot.voter in await voters(conn, proposal_id):
            return None
        entry = await copy_store.roll_entry(conn, proposal_id, ballot.voter)
        return COUNTED_ELSEWHERE if entry is not None else NOT_ON_ROLL

    return polls.checks_with_membership(check_roll)


def batch_voters(batch: OncePerBatch) -> RollReader:
    """Who may vote, read once per inbox batch (an exclusion arriving in the batch forgets it)."""

    async def voters(conn: Connection, proposal_id: str) -> frozenset[str]:
        return await batch.remember(("decision roll", proposal_id), partial(copy_store.roll_members, conn, proposal_id))

    return voters


@dataclass(frozen=True)
class CountedChoice:
    """A choice counted on a copy, waiting for its row and (for a voter's first) a receipt."""

    proposal_id: str
    proposal_question: str
    voter: str
    sender: str
    choice: str


@dataclass(frozen=True)
class BallotOnCopy:
    counted: CountedChoice
    pending: polls.PendingBallot


async def _copy_ids(conn: Connection, proposal_ids: set[str]) -> dict[str, str]:
    copies = {proposal_id: await copy_store.copy_of(conn, proposal_id) for proposal_id in proposal_ids}
    return {proposal_id: copy["copy_id"] for proposal_id, copy in copies.items() if copy is not None}


async def keep_choices(conn: Connection, choices: list[CountedChoice], now: float) -> dict[tuple, str]:
    """Write the choices; {(proposal, voter): receipt} for the voters given their receipt now."""
    await copy_store.insert_choices(conn, [(c.proposal_id, c.voter, c.proposal_question, c.choice) for c in choices])
    offered = {(c.proposal_id, c.voter): secrets.token_hex(16) for c in choices}
    kept = await copy_store.give_receipts(conn, [(p, v, r) for (p, v), r in offered.items()], now)
    return {key: receipt for key, receipt in offered.items() if receipt in kept}


def choices_and_receipts(ctx: InboxContext):
    """The batch's work: every counted choice in one statement, then each new voter's receipt Note."""
    octx = telling.authoring(ctx)

    async def write(conn, taken: list[BallotOnCopy]) -> None:
        counted = [entry.counted for entry in taken if entry.pending.counted]
        if not counted:
            return
        given = await keep_choices(conn, counted, to_epoch(ctx.now))
        copy_ids = await _copy_ids(conn, {proposal_id for proposal_id, _ in given})
        first = {}
        for choice in counted:
            key = (choice.proposal_id, choice.voter)
            if key in given and key not in first:
                first[key] = telling.Receipt(
                    choice.voter,
                    choice.sender,
                    choice.proposal_question,
                    given[key],
                    choice.proposal_id,
                    f"{copy_ids[choice.proposal_id]}/receipts/{given[key]}",
                )
        inboxes = await ctx.remote_actors.store.delivery_inboxes(conn, sorted({r.sender for r in first.values()}))
        await telling.send_receipts(conn, octx, list(first.values()), inboxes)

    return write


async def tell_counted_elsewhere(ctx: InboxContext, proposal_id: str, voter: str, conn, _entries: list) -> None:
    """A member whose ballot here is refused because the issuer's exclusions count them in another
    chapter is told so, once per batch (their actor signed the ballot: their inbox is known now)."""
    await telling.tell_excluded(conn, telling.authoring(ctx), proposal_id, [voter])


def local_vote_on_copy(inner):
    """A vote on the pages (``registry.local_vote``): on a copy, counted against the frozen roll; the
    voter's receipt is shown on the page (a local member has no inbox to send a Note to)."""

    async def cast(conn: Connection, question: polls.Question, voter: str, choices: list[str], now: float):
        copied = await copy_store.copied_question(conn, question.id)
        if copied is None:
            return await inner(conn, question, voter, choices, now)
        proposal_id = copied["proposal_id"]
        checks = roll_checks(proposal_id, copy_store.roll_members)
        outcomes = await polls.cast_local_vote(conn, question, voter, choices, now, checks)
        counted = [
            CountedChoice(proposal_id, copied["proposal_question"], voter, voter, outcome.choice)
            for outcome in outcomes
            if outcome.counted and outcome.choice is not None
        ]
        if not counted:
            return outcomes
        await keep_choices(conn, counted, now)
        receipt = await copy_store.receipt_of(conn, proposal_id, voter)
        where = f"{(await _copy_ids(conn, {proposal_id}))[proposal_id]}/receipts/{receipt}"
        return [
            replace(o, receipt=receipt, receipt_url=where) if o.counted and o.choice is not None else o
            for o in outcomes
        ]

    return cast


def vote_on_copy(inner):
    """The polls room's reply step for a Question, or the decision's when the question copies a proposal."""

    async def handle(ctx: InboxContext, activity: dict, created: dict, parent) -> None:
        batch = ctx.once_per_batch
        copied = await batch.remember(
            ("decision copy", parent.id), partial(copy_store.copied_question, ctx.conn, parent.id)
        )
        if copied is None:
            await inner(ctx, activity, created, parent)
            return
        question = await batch.remember(("poll question", parent.id), partial(polls.get_question, ctx.conn, parent.id))
        checks = roll_checks(copied["proposal_id"], batch_voters(batch))
        pending = await polls_in.take_ballot(ctx, activity, created, parent, question, checks)
        if pending is not None and pending.reason == COUNTED_ELSEWHERE:
            told = partial(tell_counted_elsewhere, ctx, copied["proposal_id"], pending.ballot.voter)
            batch.add(("told elsewhere", copied["proposal_id"], pending.ballot.voter), told)
            ctx.queued_deliveries = True
        if pending is None or pending.counted is False:
            return
        ballot = pending.ballot
        sender = id_of(activity.get("actor")) or ballot.voter
        counted = CountedChoice(copied["proposal_id"], copied["proposal_question"], ballot.voter, sender, ballot.choice)
        batch.add(RECEIPTS, choices_and_receipts(ctx), BallotOnCopy(counted, pending))
        ctx.queued_deliveries = True

    return handle
