"""Votes on the chapter's polls: a ``Create(Note)`` whose ``inReplyTo`` is one of our Questions.

Registered as ``registry.reply_handlers["Question"]``. The shapes accepted:

- Mastodon: ``Create`` of a ``Note`` with ``name`` = the option text exactly, ``inReplyTo`` =
  the Question, addressed to the chapter; an ``anyOf`` vote is one Create per option.
- Takahē: the Create and its Note share one id, a fragment (``actor#votes/N``); ``to`` is a
  single string; the voter is named only in the Note's ``attributedTo``. The id is kept as
  the ballot's id and never fetched; the inbox stores each activity id once, so the ballot
  is counted once.

As Mastodon decides: a Note is a ballot when its ``name`` is one of the options, or when it
has a ``name`` and no ``content`` (then it is kept as a ballot for an unknown option). Any
other reply is a comment, handed to ``registry.reply_handlers["*"]`` when there is one. The voter is
the activity's actor (whose signature the inbox checked); a Note attributed to someone else
is recorded, not counted. Counting itself is :func:`node.polls.model.count_ballot`, shared with
the pages. A ballot is on time when the inbox ACCEPTED it before the close
(``ctx.received_at``, the 202), however late the worker reaches it.
"""

from __future__ import annotations

from functools import partial

from federation.activitystreams import actor_of
from inbox.handlers import InboxContext, id_of
from node.core import objects
from node.core.clock import to_epoch
from node.core.registry import Registry
from node.polls import model as polls


def is_ballot(created: dict, question: polls.Question) -> bool:
    name = created.get("name")
    if created.get("type") != "Note" or not isinstance(name, str):
        return False
    return name in question.options or not created.get("content")


async def handle_vote(ctx: InboxContext, activity: dict, created: dict, parent: objects.StoredObject) -> None:
    question = await polls.get_question(ctx.conn, parent.id)
    await take_ballot(ctx, activity, created, parent, question)


async def take_ballot(
    ctx: InboxContext,
    activity: dict,
    created: dict,
    parent: objects.StoredObject,
    question: polls.Question | None,
    checks: tuple = polls.BALLOT_CHECKS,
) -> polls.PendingBallot | None:
    """Take a ballot by the rules of ``checks`` (a comment goes to the comments' handler; None).

    A refused ballot is recorded at once (``counted`` False). One that passes is written with
    the rest of the worker's batch, before its commit (``ctx.once_per_batch``: one statement for
    the batch's ballots), which decides ``counted``; work that depends on it (a decision's
    receipts) is added to the batch after this, so it runs after."""
    if question is None or not is_ballot(created, question):
        comment_handler = ctx.registry.reply_handlers.get("*")
        if comment_handler is not None:
            await comment_handler(ctx, activity, created, parent)
        return None
    voter = actor_of(activity)
    ballot = polls.Ballot(
        question=question,
        voter=voter,
        choice=created["name"],
        ballot_id=id_of(created) or activity.get("id"),
        source="remote",
        now=ctx.received_at,  # judged by when the inbox accepted it, not when the worker got to it
    )
    attributed = id_of(created.get("attributedTo"))
    if attributed is not None and attributed != voter:
        await polls.refuse_ballot(ctx.conn, ballot, f"the ballot is attributed to {attributed}, not its sender")
        return polls.PendingBallot(ballot, counted=False)
    pending = await polls.checked(ctx.conn, ballot, checks)
    if pending.counted is None:
        ctx.once_per_batch.add(BALLOTS, _write_ballots, pending)
        ctx.once_per_batch.add(("served counts", question.id), partial(_counts_changed, question.id, to_epoch(ctx.now)))
    return pending


BALLOTS = "poll ballots"


async def _write_ballots(conn, pending: list[polls.PendingBallot]) -> None:
    await polls.write_ballots(conn, pending)


async def _counts_changed(question_id: str, now: float, conn, _entries: list) -> None:
    await polls.counts_changed(conn, question_id, now)


def register(registry: Registry) -> None:
    """Replies to a Question are ballots (or comments, for the content room's handler)."""
    registry.reply_handlers["Question"] = handle_vote
