"""This node's own copy of a proposal, its frozen roll, its members' choices and receipts: the SQL.

``decision_copies`` / ``decision_copy_questions``: the copy for its members, which question of
ours copies which of the proposal, its state (``states.COPY``: frozen, rolled, tallied; moved
only along that graph, by :func:`_move`), the signed roll sent up, and the signed tally with the
leaves it was signed over (served after the close). ``decision_roll``: the frozen roll, each
member with their commitment, the day the membership began and, once the issuer's exclusions
say so, why they count elsewhere (never served). ``decision_choices``: each counted choice,
by voter and question; ``decision_receipts``: one random receipt per voter and proposal. The
voter of a choice or receipt is never served: the leaves are built from them at the close.
``decision_reasons``: the reason a voter gave with their ballot (one each, editable until the
close), kept at the chapter only and shown on the copy's page without the voter's name unless
they chose it, and never beside their choice.
"""

from __future__ import annotations

from federation import jsonio
from node.core.db import Connection, Row, fetch_all, fetch_one, fetch_value
from node.core.due import TransitionError
from node.decisions.states import COPY


async def insert_copy(
    conn: Connection,
    *,
    proposal_id: str,
    copy_id: str,
    questions: dict[str, str],
    roll_size: int,
    roll_hash: str,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO decision_copies (proposal_id, copy_id, questions, roll_size, roll_hash, frozen_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (proposal_id, copy_id, jsonio.dumps_str(questions), roll_size, roll_hash, now),
    )
    await conn.executemany(
        "INSERT INTO decision_copy_questions (question_id, proposal_id, proposal_question) VALUES (?, ?, ?)",
        [(ours, proposal_id, theirs) for ours, theirs in questions.items()],
    )


async def _move(
    conn: Connection, proposal_id: str, source: str, target: str, sets: str = "", params: tuple = ()
) -> None:
    """Move a copy from ``source`` to ``target`` (a transition ``states.COPY`` allows), setting ``sets`` too."""
    COPY.check(source, target)
    cursor = await conn.execute(
        f"UPDATE decision_copies SET state = ?{sets} WHERE proposal_id = ? AND state = ?",
        (target, *params, proposal_id, source),
    )
    if cursor.rowcount != 1:
        now = await fetch_value(conn, "SELECT state FROM decision_copies WHERE proposal_id = ?", (proposal_id,))
        raise TransitionError(f"{COPY.name}: {proposal_id} is {now!r}, not {source!r}: it cannot go to {target!r}")


async def rolls_due(conn: Connection) -> list[Row]:
    """Copies whose signed roll has not gone up yet (``frozen``)."""
    return await fetch_all(conn, "SELECT * FROM decision_copies WHERE state = 'frozen'")


async def mark_roll_sent(conn: Connection, proposal_id: str, roll: dict) -> None:
    await _move(conn, proposal_id, "frozen", "rolled", ", roll = ?", (jsonio.dumps_str(roll),))


async def roll_entries(conn: Connection, proposal_id: str) -> list[tuple[str, int]]:
    rows = await fetch_all(
        conn, "SELECT commitment, day FROM decision_roll WHERE proposal_id = ? ORDER BY commitment", (proposal_id,)
    )
    return [(row["commitment"], row["day"]) for row in rows]


async def copy_of(conn: Connection, proposal_id: str):
    return await fetch_one(conn, "SELECT * FROM decision_copies WHERE proposal_id = ?", (proposal_id,))


async def copy_by_id(conn: Connection, copy_id: str):
    return await fetch_one(conn, "SELECT * FROM decision_copies WHERE copy_id = ?", (copy_id,))


async def copied_question(conn: Connection, question_id: str):
    """(proposal id, the proposal's question) a question of ours copies, or None."""
    return await fetch_one(conn, "SELECT * FROM decision_copy_questions WHERE question_id = ?", (question_id,))


async def copies_due(conn: Connection, now: float) -> list[Row]:
    """Copies whose roll went up and whose ``endTime`` has passed: their tally is due (``rolled``) once
    the issuer's final exclusions are here (so the leaves, once published, never change because of
    another chapter's roll) and the inbox has processed every ballot its roll's members sent before
    the close; or, whatever is missing, half way to the ``tallyDeadline``."""
    rows = await fetch_all(
        conn,
        "SELECT c.*, p.end_time, p.tally_deadline FROM decision_copies c"
        " JOIN decision_proposals p ON p.id = c.proposal_id WHERE c.state = 'rolled' AND p.end_time <= ?",
        (now,),
    )
    due = []
    for row in rows:
        patience = row["end_time"] + (row["tally_deadline"] - row["end_time"]) / 2
        final = await _final_exclusions(conn, row["proposal_id"])
        if now >= patience or (final and not await ballots_waiting(conn, row["proposal_id"], row["end_time"])):
            due.append(row)
    return due


async def _final_exclusions(conn: Connection, proposal_id: str) -> bool:
    text = await fetch_value(
        conn,
        "SELECT document FROM decision_exclusions WHERE proposal_id = ? ORDER BY seq DESC LIMIT 1",
        (proposal_id,),
    )
    return bool(text) and jsonio.loads(text).get("final") is True


async def ballots_waiting(conn: Connection, proposal_id: str, end_time: float) -> bool:
    """Whether the inbox still holds, unprocessed, a Create that a member on this roll sent before the
    close (a ballot it acknowledged in time); a stranger's stuck item holds no tally back."""
    return (
        await fetch_value(
            conn,
            "SELECT 1 FROM inbox_items i WHERE i.state = 'queued' AND i.type = 'Create' AND i.received_at <= ?"
            " AND i.actor_id IN (SELECT member_id FROM decision_roll WHERE proposal_id = ?) LIMIT 1",
            (end_time, proposal_id),
        )
        is not None
    )


async def mark_tally_sent(conn: Connection, proposal_id: str, tally: dict, leaves: list, now: float) -> None:
    await _move(
        conn,
        proposal_id,
        "rolled",
        "tallied",
        ", tally = ?, leaves = ?, tally_sent_at = ?, rejected = NULL",
        (jsonio.dumps_str(tally), jsonio.dumps_str(leaves), now),
    )


async def resend_tally(conn: Connection, proposal_id: str) -> None:
    """The worker builds and sends the tally again (the exclusions changed after it was sent)."""
    await _move(conn, proposal_id, "tallied", "rolled", ", tally_sent_at = NULL")


async def mark_copy_refused(conn: Connection, proposal_id: str, reason: str) -> None:
    await conn.execute("UPDATE decision_copies SET rejected = ? WHERE proposal_id = ?", (reason, proposal_id))


# --- the frozen roll -----------------------------------------------------------------------


async def insert_roll(conn: Connection, proposal_id: str, roll: list[tuple[str, str, int]]) -> None:
    """Each (member, commitment, day)."""
    await conn.executemany(
        "INSERT INTO decision_roll (proposal_id, member_id, commitment, day) VALUES (?, ?, ?, ?)",
        [(proposal_id, member, digest, day) for member, digest, day in roll],
    )


async def roll_members(conn: Connection, proposal_id: str) -> frozenset[str]:
    """Who may vote on the copy: the frozen roll less the members the issuer's exclusions count elsewhere."""
    rows = await fetch_all(
        conn, "SELECT member_id FROM decision_roll WHERE proposal_id = ? AND excluded IS NULL", (proposal_id,)
    )
    return frozenset(row["member_id"] for row in rows)


async def roll_entry(conn: Connection, proposal_id: str, member_id: str):
    return await fetch_one(
        conn, "SELECT * FROM decision_roll WHERE proposal_id = ? AND member_id = ?", (proposal_id, member_id)
    )


async def apply_exclusions(conn: Connection, proposal_id: str, lost: list[str], reason: str) -> list[str]:
    """Mark exactly the members whose commitments are in ``lost`` excluded; the members newly excluded."""
    before = {
        row["member_id"]
        for row in await fetch_all(
            conn, "SELECT member_id FROM decision_roll WHERE proposal_id = ? AND excluded IS NOT NULL", (proposal_id,)
        )
    }
    await conn.execute("UPDATE decision_roll SET excluded = NULL WHERE proposal_id = ?", (proposal_id,))
    await conn.executemany(
        "UPDATE decision_roll SET excluded = ? WHERE proposal_id = ? AND commitment = ?",
        [(reason, proposal_id, digest) for digest in lost],
    )
    after = await fetch_all(
        conn, "SELECT member_id FROM decision_roll WHERE proposal_id = ? AND excluded IS NOT NULL", (proposal_id,)
    )
    return sorted({row["member_id"] for row in after} - before)


async def excluded_count(conn: Connection, proposal_id: str) -> int:
    return int(
        await fetch_value(
            conn, "SELECT COUNT(*) FROM decision_roll WHERE proposal_id = ? AND excluded IS NOT NULL", (proposal_id,)
        )
    )


# --- choices and receipts ------------------------------------------------------------------


async def insert_choices(conn: Connection, choices: list[tuple[str, str, str, str]]) -> None:
    """Each counted ``(proposal id, voter, proposal question, choice)``, in one statement."""
    await conn.executemany(
        "INSERT INTO decision_choices (proposal_id, voter, question, choice) VALUES (?, ?, ?, ?)", choices
    )


async def give_receipts(conn: Connection, offered: list[tuple[str, str, str]], now: float) -> set[str]:
    """Keep each ``(proposal id, voter, receipt)`` unless the voter has one already; the receipts kept."""
    kept: set[str] = set()
    for proposal_id, voter, receipt in offered:
        cursor = await conn.execute(
            "INSERT INTO decision_receipts (proposal_id, voter, receipt, given_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (proposal_id, voter) DO NOTHING",
            (proposal_id, voter, receipt, now),
        )
        if cursor.rowcount == 1:
            kept.add(receipt)
    return kept


async def receipt_of(conn: Connection, proposal_id: str, voter: str) -> str | None:
    return await fetch_value(
        conn, "SELECT receipt FROM decision_receipts WHERE proposal_id = ? AND voter = ?", (proposal_id, voter)
    )


async def counted_ballots(conn: Connection, proposal_id: str) -> list[Row]:
    """Every counted choice of a voter still on the roll, with the voter's receipt."""
    return await fetch_all(
        conn,
        "SELECT c.voter, c.question, c.choice, r.receipt FROM decision_choices c"
        " JOIN decision_receipts r ON r.proposal_id = c.proposal_id AND r.voter = c.voter"
        " JOIN decision_roll m ON m.proposal_id = c.proposal_id AND m.member_id = c.voter"
        " WHERE c.proposal_id = ? AND m.excluded IS NULL ORDER BY c.seq",
        (proposal_id,),
    )


# --- reasons given with ballots ------------------------------------------------------------


async def put_reason(conn: Connection, proposal_id: str, voter: str, reason: str, *, named: bool, now: float) -> None:
    """Keep ``voter``'s reason on ``proposal_id`` (their one reason: a second replaces the first)."""
    await conn.execute(
        "INSERT INTO decision_reasons (proposal_id, voter, reason, named, given_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (proposal_id, voter) DO UPDATE SET reason = excluded.reason, named = excluded.named,"
        " given_at = excluded.given_at",
        (proposal_id, voter, reason, int(named), now),
    )


async def drop_reason(conn: Connection, proposal_id: str, voter: str) -> None:
    await conn.execute("DELETE FROM decision_reasons WHERE proposal_id = ? AND voter = ?", (proposal_id, voter))


async def reason_of(conn: Connection, proposal_id: str, voter: str) -> Row | None:
    return await fetch_one(
        conn, "SELECT * FROM decision_reasons WHERE proposal_id = ? AND voter = ?", (proposal_id, voter)
    )


async def reasons_of(conn: Connection, proposal_id: str) -> list[Row]:
    """Every reason given on ``proposal_id``, in the order of their text (never of when, or of whom)."""
    rows = await fetch_all(
        conn, "SELECT voter, reason, named FROM decision_reasons WHERE proposal_id = ?", (proposal_id,)
    )
    return sorted(rows, key=lambda row: (row["reason"].casefold(), row["reason"]))
