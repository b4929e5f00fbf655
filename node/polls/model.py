"""Polls and surveys: the store, and the one counting code every ballot goes through.

A poll is a ``Question`` the chapter published (``oneOf``: one choice, ``anyOf``: several),
with options frozen at publication and one ``end_time``. A survey is an ordered set of such
questions with a title, an introduction and one closing time; each question is still its
own ``Question``, so members can answer from Mastodon.

Counting follows Mastodon: a ballot names one option (``anyOf`` voters send one ballot per
option); for ``oneOf`` a voter's first valid ballot counts, for ``anyOf`` each option counts
once per voter; ``votersCount`` is the number of distinct voters with a counted ballot.
Every ballot is kept, counted or not, with the reason it was not: the pipeline
:data:`BALLOT_CHECKS` says why (who may vote, before close, a known option), and the unique
partial indexes on ``poll_ballots`` make a second counted row for the same (question, voter,
option), or for the same (question, voter) on a ``oneOf``, impossible: the counted insert is
itself the "not repeated" check (``ON CONFLICT DO NOTHING``; a repeat is then kept as
refused). A vote on the pages goes through :func:`count_ballot` (:func:`cast_local_vote`); the
inbox checks each ballot (:func:`checked`) and writes its batch's in one statement
(:func:`write_ballots`), the first of a voter's ballots winning as it arrived.

Counts are derived from the ballots, never incremented: once the ballots of a transaction
are counted (:func:`counts_changed`: once per vote on the pages, once per batch in the inbox
worker, however many ballots the batch holds) the served ``Question`` (its row in
``objects``) is rebuilt from :func:`tally` and the question is marked dirty, for the poll
worker to send one coalesced ``Update``. With ``hide_results``
the served counts stay 0 until the poll closes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from federation import jsonio
from node.core import objects
from node.core.clock import from_epoch, iso
from node.core.db import Connection, Row, dialects, fetch_all, fetch_one, fetch_value
from node.core.i18n import N_
from node.membership import members

log = logging.getLogger("chapterhouse.polls")

KINDS = ("oneOf", "anyOf")


@dataclass(frozen=True)
class Question:
    id: str
    chapter: str
    survey_id: str | None
    position: int
    kind: str
    options: tuple[str, ...]
    end_time: float
    closed_at: float | None
    hide_results: bool
    dirty: bool
    last_update_at: float | None

    @property
    def single(self) -> bool:
        return self.kind == "oneOf"

    def accepts_votes_at(self, now: float) -> bool:
        return self.closed_at is None and now < self.end_time

    def took_ballots_at(self, received_at: float) -> bool:
        """Whether a ballot received (a 202 from the inbox, a page's POST) at ``received_at`` came
        in time, however late it is processed: before the end, and before any close."""
        return received_at < self.end_time and (self.closed_at is None or received_at < self.closed_at)

    def results_visible_at(self, now: float) -> bool:
        return not self.hide_results or not self.accepts_votes_at(now)


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int]  # by option, in the question's order
    voters: int

    @property
    def total_choices(self) -> int:
        return sum(self.counts.values())

    def percent(self, option: str) -> float:
        """Share of the voters who chose ``option`` (for anyOf the shares add up to more than 100)."""
        return round(100.0 * self.counts.get(option, 0) / self.voters, 1) if self.voters else 0.0


@dataclass(frozen=True)
class Ballot:
    question: Question
    voter: str
    choice: str
    ballot_id: str | None
    source: str  # 'remote' (the inbox) or 'local' (the pages)
    now: float  # when it was received: the inbox's 202 (InboxContext.received_at), a page's POST


@dataclass(frozen=True)
class BallotOutcome:
    counted: bool
    reason: str | None = None
    choice: str | None = None  # a local vote's outcomes name their choice
    receipt: str | None = None  # a counted ballot on a decision's copy: the voter's receipt
    receipt_url: str | None = None  # where that receipt's inclusion proof is checked, after the close


class VoteRefused(Exception):
    """A local vote that cannot be cast as sent (no choice, several on a oneOf); the message says why."""


# --- SQL: poll_questions -----------------------------------------------------------------


def _row_to_question(row) -> Question:
    return Question(
        row["id"],
        row["chapter"],
        row["survey_id"],
        row["position"],
        row["kind"],
        tuple(jsonio.loads(row["options"])),
        row["end_time"],
        row["closed_at"],
        bool(row["hide_results"]),
        bool(row["dirty"]),
        row["last_update_at"],
    )


async def insert_question(
    conn: Connection,
    *,
    question_id: str,
    chapter: str,
    kind: str,
    options: list[str],
    end_time: float,
    hide_results: bool,
    now: float,
    survey_id: str | None = None,
    position: int = 0,
) -> None:
    await conn.execute(
        "INSERT INTO poll_questions (id, chapter, survey_id, position, kind, options, end_time, hide_results,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            question_id,
            chapter,
            survey_id,
            position,
            kind,
            jsonio.dumps_str(list(options)),
            end_time,
            int(hide_results),
            now,
        ),
    )


#: a question's row read and locked until the transaction ends (PostgreSQL; SQLite's writers are serialised)
GET_QUESTION_LOCKED_SQL = dialects(
    sqlite="SELECT * FROM poll_questions WHERE id = ?", postgres="SELECT * FROM poll_questions WHERE id = ? FOR UPDATE"
)


async def get_question(conn: Connection, question_id: str, *, lock: bool = False) -> Question | None:
    row = await fetch_one(
        conn, GET_QUESTION_LOCKED_SQL if lock else "SELECT * FROM poll_questions WHERE id = ?", (question_id,)
    )
    return _row_to_question(row) if row else None


async def require_question(conn: Connection, question_id: str) -> Question:
    """A question a listing of ``poll_questions`` just named: always there."""
    found = await get_question(conn, question_id)
    if found is None:
        raise LookupError(f"no question {question_id}, though a listing of the questions named it")
    return found


async def dirty_questions(conn: Connection) -> list[Question]:
    rows = await fetch_all(conn, "SELECT * FROM poll_questions WHERE dirty = 1 ORDER BY created_at")
    return [_row_to_question(row) for row in rows]


async def questions_due_to_close(conn: Connection, now: float) -> list[Question]:
    rows = await fetch_all(
        conn, "SELECT * FROM poll_questions WHERE closed_at IS NULL AND end_time <= ? ORDER BY end_time", (now,)
    )
    return [_row_to_question(row) for row in rows]


async def next_end_time(conn: Connection) -> float | None:
    """When the next open question closes (None when every question is closed)."""
    return await fetch_value(conn, "SELECT MIN(end_time) FROM poll_questions WHERE closed_at IS NULL")


async def mark_dirty(conn: Connection, question_id: str) -> None:
    await conn.execute("UPDATE poll_questions SET dirty = 1 WHERE id = ?", (question_id,))


async def mark_update_sent(conn: Connection, question_id: str, now: float, *, still_dirty: bool = False) -> None:
    await conn.execute(
        "UPDATE poll_questions SET dirty = ?, last_update_at = ? WHERE id = ?", (int(still_dirty), now, question_id)
    )


async def mark_closed(conn: Connection, question_id: str, closed_at: float) -> None:
    await conn.execute(
        "UPDATE poll_questions SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (closed_at, question_id)
    )


# --- SQL: poll_surveys ---------------------------------------------------------------------


async def insert_survey(
    conn: Connection,
    *,
    survey_id: str,
    chapter: str,
    title: str,
    introduction: str,
    end_time: float,
    hide_results: bool,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO poll_surveys (id, chapter, title, introduction, end_time, hide_results, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (survey_id, chapter, title, introduction, end_time, int(hide_results), now),
    )


async def get_survey(conn: Connection, survey_id: str):
    return await fetch_one(conn, "SELECT * FROM poll_surveys WHERE id = ?", (survey_id,))


async def survey_questions(conn: Connection, survey_id: str) -> list[Question]:
    rows = await fetch_all(conn, "SELECT * FROM poll_questions WHERE survey_id = ? ORDER BY position", (survey_id,))
    return [_row_to_question(row) for row in rows]


# --- SQL: poll_ballots ---------------------------------------------------------------------


async def insert_ballot(conn: Connection, ballot: Ballot, outcome: BallotOutcome) -> None:
    await conn.execute(
        "INSERT INTO poll_ballots (question_id, voter, choice, single, ballot_id, source, counted, reason, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ballot.question.id,
            ballot.voter,
            ballot.choice,
            int(ballot.question.single),
            ballot.ballot_id,
            ballot.source,
            int(outcome.counted),
            outcome.reason,
            ballot.now,
        ),
    )


async def counted_choices_of(conn: Connection, question_id: str, voter: str) -> list[str]:
    rows = await fetch_all(
        conn,
        "SELECT choice FROM poll_ballots WHERE question_id = ? AND voter = ? AND counted = 1",
        (question_id, voter),
    )
    return [row["choice"] for row in rows]


async def remote_voters(conn: Connection, question_id: str) -> list[str]:
    rows = await fetch_all(
        conn,
        "SELECT DISTINCT voter FROM poll_ballots WHERE question_id = ? AND counted = 1 AND source = 'remote'"
        " ORDER BY voter",
        (question_id,),
    )
    return [row["voter"] for row in rows]


async def ballots_of(conn: Connection, question_id: str) -> list[Row]:
    return await fetch_all(conn, "SELECT * FROM poll_ballots WHERE question_id = ? ORDER BY seq", (question_id,))


async def tally(conn: Connection, question: Question) -> Tally:
    rows = await fetch_all(
        conn,
        "SELECT choice, COUNT(*) AS n FROM poll_ballots WHERE question_id = ? AND counted = 1 GROUP BY choice",
        (question.id,),
    )
    found = {row["choice"]: row["n"] for row in rows}
    voters = await fetch_value(
        conn, "SELECT COUNT(DISTINCT voter) FROM poll_ballots WHERE question_id = ? AND counted = 1", (question.id,)
    )
    return Tally({option: found.get(option, 0) for option in question.options}, voters or 0)


# --- counting ------------------------------------------------------------------------------

BallotCheck = Callable[[Connection, Ballot], Awaitable[str | None]]

# Why a ballot is not counted: English where it is kept (the ballots' table, JSON, logs), messages
# (node.core.i18n.N_) so a page that refuses a vote says why in the reader's language.
MEMBERSHIP_REASONS = {
    None: N_("non-member"),
    "requested": N_("membership not yet accepted"),
    "left": N_("member has left"),
    "removed": N_("removed member"),
}
NOT_ACTIVE = N_("not an active member")
AFTER_CLOSE = N_("after close")
UNKNOWN_OPTION = N_("unknown option")


async def _check_open(conn: Connection, ballot: Ballot) -> str | None:
    return None if ballot.question.took_ballots_at(ballot.now) else AFTER_CLOSE


async def _check_option(conn: Connection, ballot: Ballot) -> str | None:
    return None if ballot.choice in ballot.question.options else UNKNOWN_OPTION


async def _check_member(conn: Connection, ballot: Ballot) -> str | None:
    chapter = ballot.question.chapter
    if await members.is_active_member(conn, chapter, ballot.voter):
        return None
    member = await members.get_member(conn, chapter, ballot.voter)
    return MEMBERSHIP_REASONS.get(member["state"] if member else None, NOT_ACTIVE)


REPEATED_VOTE = N_("repeated: already voted")
REPEATED_OPTION = N_("repeated: option already chosen")


def repeated_reason(question: Question) -> str:
    return REPEATED_VOTE if question.single else REPEATED_OPTION


# In order: the first reason found is the one recorded. The last check, "not repeated", is the
# counted ballot's insert itself (:func:`write_ballots`).
BALLOT_CHECKS: tuple[BallotCheck, ...] = (_check_open, _check_option, _check_member)


def checks_with_membership(member_check: BallotCheck) -> tuple[BallotCheck, ...]:
    """The checks, with another rule for who may vote (a decision's copy: the frozen roll)."""
    return tuple(member_check if check is _check_member else check for check in BALLOT_CHECKS)


async def count_ballot(
    conn: Connection, ballot: Ballot, checks: tuple[BallotCheck, ...] = BALLOT_CHECKS
) -> BallotOutcome:
    """Record ``ballot`` (inside the caller's transaction); count it if every check passes.

    The caller then calls :func:`counts_changed` once, however many ballots it recorded (the
    inbox worker once per batch), before its transaction commits."""
    pending = await checked(conn, ballot, checks)
    if pending.counted is None:
        await write_ballots(conn, [pending])
    return BallotOutcome(counted=bool(pending.counted), reason=pending.reason)


@dataclass
class PendingBallot:
    """A ballot that passed its checks, waiting for its batch's :func:`write_ballots`, which
    decides ``counted`` (False when it repeats a counted one) and records it."""

    ballot: Ballot
    counted: bool | None = None
    reason: str | None = None  # why it was not counted


async def checked(conn: Connection, ballot: Ballot, checks: tuple[BallotCheck, ...]) -> PendingBallot:
    """Run ``checks``: a refused ballot is recorded now, with the reason (``counted`` False); one
    that passes waits for its batch's :func:`write_ballots` (``counted`` None)."""
    for check in checks:
        reason = await check(conn, ballot)
        if reason is not None:
            await refuse_ballot(conn, ballot, reason)
            return PendingBallot(ballot, counted=False, reason=reason)
    return PendingBallot(ballot)


#: A batch of checked ballots, each counted unless the unique indexes refuse it, in one statement.
WRITE_BATCH_SQL = dialects(
    sqlite="INSERT INTO poll_ballots (question_id, voter, choice, single, ballot_id, source, counted, reason, received_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, 1, NULL, value ->> 6"
    " FROM json_each(?) WHERE true ORDER BY key ON CONFLICT DO NOTHING RETURNING question_id, voter, choice",
    postgres="INSERT INTO poll_ballots (question_id, voter, choice, single, ballot_id, source, counted, reason, received_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, (value ->> 3)::bigint, value ->> 4, value ->> 5, 1, NULL,"
    " (value ->> 6)::float8 FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS t(value, key) ORDER BY key"
    " ON CONFLICT DO NOTHING RETURNING question_id, voter, choice",
)


async def write_ballots(conn: Connection, pending: list[PendingBallot]) -> None:
    """Record a batch's checked ballots in order: each is counted unless the voter already has a
    counted ballot the unique indexes forbid a second of (before this batch or earlier in it: the
    first wins); the repeats are kept as refused. One statement for all the counted, one more per
    repeat."""
    waiting = [p for p in pending if p.counted is None]
    if not waiting:
        return
    rows = [
        [b.question.id, b.voter, b.choice, int(b.question.single), b.ballot_id, b.source, b.now]
        for b in (p.ballot for p in waiting)
    ]
    inserted = {
        (row["question_id"], row["voter"], row["choice"])
        for row in await fetch_all(conn, WRITE_BATCH_SQL, (jsonio.dumps_str(rows),))
    }
    repeats: list[tuple[PendingBallot, str]] = []
    for entry in waiting:
        key = (entry.ballot.question.id, entry.ballot.voter, entry.ballot.choice)
        entry.counted = key in inserted
        inserted.discard(key)  # a second ballot with the same key in this batch is a repeat
        if entry.counted:
            log.info("ballot counted: %s chose %r on %s", entry.ballot.voter, entry.ballot.choice, key[0])
        else:
            entry.reason = reason = repeated_reason(entry.ballot.question)
            repeats.append((entry, reason))
    for entry, reason in repeats:
        await refuse_ballot(conn, entry.ballot, reason)


async def refuse_ballot(conn: Connection, ballot: Ballot, reason: str) -> BallotOutcome:
    """Record a ballot refused before counting (a malformed remote ballot), with the reason."""
    outcome = BallotOutcome(counted=False, reason=reason)
    await insert_ballot(conn, ballot, outcome)
    log.info(
        "ballot not counted (%s): %s chose %r on %s (ballot %s)",
        reason,
        ballot.voter,
        ballot.choice,
        ballot.question.id,
        ballot.ballot_id,
    )
    return outcome


async def cast_local_vote(
    conn: Connection,
    question: Question,
    voter_actor_id: str,
    choices: list[str],
    now: float,
    checks: tuple[BallotCheck, ...] = BALLOT_CHECKS,
) -> list[BallotOutcome]:
    """A local member's vote from the pages: one ballot per choice, through :func:`count_ballot`
    (by the rules of ``checks``); each outcome names its choice."""
    unique = list(dict.fromkeys(choices))
    if not unique:
        raise VoteRefused(N_("choose an option"))
    if question.single and len(unique) > 1:
        raise VoteRefused(N_("this question takes one choice"))
    outcomes = []
    for choice in unique:
        outcome = await count_ballot(conn, Ballot(question, voter_actor_id, choice, None, "local", now), checks)
        outcomes.append(replace(outcome, choice=choice))
    if any(outcome.counted for outcome in outcomes):
        await counts_changed(conn, question.id, now)
    return outcomes


# --- the served Question -------------------------------------------------------------------


def served_question(document: dict, question: Question, counts: Tally, now: float) -> dict:
    """The Question as served: options with ``replies.totalItems``, ``votersCount``, ``closed``."""
    visible = question.results_visible_at(now)
    options = [
        {
            "type": "Note",
            "name": name,
            "replies": {"type": "Collection", "totalItems": counts.counts.get(name, 0) if visible else 0},
        }
        for name in question.options
    ]
    served = {
        **document,
        question.kind: options,
        "votersCount": counts.voters if visible else 0,
        "endTime": iso(from_epoch(question.end_time)),
    }
    if question.closed_at is not None:
        served["closed"] = iso(from_epoch(question.closed_at))
    return served


async def counts_changed(conn: Connection, question_id: str, now: float) -> None:
    """Ballots were counted: the stored Question shows the new counts, and the poll worker will send them."""
    await mark_dirty(conn, question_id)
    await refresh_served(conn, question_id, now)


async def refresh_served(conn: Connection, question_id: str, now: float) -> dict | None:
    """Rebuild the stored Question from the ballots; the new document, or None if it was deleted.

    The question's row is locked before the object's (PostgreSQL): every writer takes the two in
    that order (a ballot marks the question dirty, then its batch rebuilds the served counts), so the
    poll worker's Update, which rebuilds first and marks the question after, cannot deadlock with
    another process's batch of ballots."""
    question = await get_question(conn, question_id, lock=True)
    stored = await objects.get(conn, question_id)
    if question is None or stored is None or stored.deleted is not None:
        return None
    document = served_question(stored.data, question, await tally(conn, question), now)
    await objects.replace_data(conn, question_id, document, updated=now)
    return document
