"""Ballots on a chapter's copy: counted by the polls room's code against the FROZEN roll, then a receipt.

A ``registry.reply_handlers["Question"]`` wrapper: a reply to a question that copies a
proposal goes through ``node.polls.inbound.take_ballot`` with the roll in place of "is an
active member now" (members on the frozen roll, first valid ballot, before close; refused
ballots kept with their reason). Each counted ballot gets a random receipt and an anonymous
leaf (``tally.leaf``); the receipt goes to the voter in a direct Note (their inbox is the
cached actor whose key signed the ballot). Replies to any other question go on as before.
"""

from __future__ import annotations

import secrets

from federation.activitystreams import id_of
from inbox.handlers import InboxContext
from node.core import objects
from node.decisions import store, telling
from node.decisions import tally as tallies
from node.polls import inbound as polls_in
from node.polls import model as polls

NOT_ON_ROLL = "not on the frozen roll of this decision"


async def _on_roll(conn, ballot: polls.Ballot) -> str | None:
    copied = await store.copied_question(conn, ballot.question.id)
    return None if await store.on_roll(conn, copied["proposal_id"], ballot.voter) else NOT_ON_ROLL


ROLL_CHECKS = polls.checks_with_membership(_on_roll)


async def record_leaf(conn, chapter_id: str, copied, voter: str, choice: str) -> str:
    receipt = secrets.token_hex(16)
    leaf = tallies.leaf(copied["proposal_id"], chapter_id, receipt, copied["proposal_question"], choice)
    await store.insert_leaf(conn, copied["proposal_id"], leaf=leaf, receipt=receipt, voter=voter)
    return receipt


async def _inbox_of(ctx: InboxContext, actor_id: str) -> str | None:
    row = await ctx.remote_actors.store.select_actor(ctx.conn, actor_id)
    return (row["shared_inbox"] or row["inbox"]) if row else None


def voting(inner):
    async def handle(ctx: InboxContext, activity: dict, created: dict, parent: objects.StoredObject) -> None:
        copied = await store.copied_question(ctx.conn, parent.id)
        if copied is None:
            await inner(ctx, activity, created, parent)
            return
        question = await polls.get_question(ctx.conn, parent.id)
        taken = await polls_in.take_ballot(ctx, activity, created, parent, question, ROLL_CHECKS)
        if taken is None or not taken[1].counted:
            return
        ballot = taken[0]
        receipt = await record_leaf(ctx.conn, ctx.chapter_id, copied, ballot.voter, ballot.choice)
        await telling.send_receipt(
            ctx.conn,
            telling.outbox_context(ctx),
            voter=ballot.voter,
            inbox=await _inbox_of(ctx, id_of(activity.get("actor")) or ballot.voter),
            question=copied["proposal_question"],
            choice=ballot.choice,
            receipt=receipt,
            proposal_id=copied["proposal_id"],
        )
        ctx.queued_deliveries = True

    return handle
