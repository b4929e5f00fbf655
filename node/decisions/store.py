"""The decisions tables and their SQL, in small named functions (one job each).

``decision_proposals``: every proposal issued here or received, its signed document as
received, where it came from (``via``), when tallies are due, and the signed outcome.
``decision_electorate``: the chapters of this node's subtree when the proposal opened here
(from the signed branch reports), with the child they hang under and their member count.
``decision_copies`` / ``decision_copy_questions``: this node's own copy for its members, its
frozen roll (``decision_roll``, never served) and the signed tally it sent up.
``decision_leaves``: one anonymous leaf per counted ballot (receipt and voter never served).
``decision_tallies``: what children sent up (chapter tallies and branch aggregates), keyed by
proposal and origin, so a redelivery never counts twice; ``decision_tags``: the
participation tags of the accepted tallies, to catch a member on two rolls.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from federation import jsonio
from node.core.db import fetch_all, fetch_one, fetch_value


@dataclass(frozen=True)
class Proposal:
    id: str
    issuer: str
    document: dict
    end_time: float
    tally_deadline: float
    via: str | None
    is_issuer: bool
    aggregate_sent_at: float | None
    outcome: dict | None


def _proposal(row) -> Proposal | None:
    if row is None:
        return None
    outcome = jsonio.loads(row["outcome"]) if row["outcome"] else None
    return Proposal(
        row["id"],
        row["issuer"],
        jsonio.loads(row["document"]),
        row["end_time"],
        row["tally_deadline"],
        row["via"],
        bool(row["is_issuer"]),
        row["aggregate_sent_at"],
        outcome,
    )


async def insert_proposal(
    conn: aiosqlite.Connection, *, document: dict, end_time: float, deadline: float, via: str | None, now: float
) -> bool:
    """Keep a proposal once (False: it was known already)."""
    cursor = await conn.execute(
        "INSERT INTO decision_proposals (id, issuer, document, end_time, tally_deadline, via, is_issuer, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (
            document["id"],
            document["attributedTo"],
            jsonio.dumps_str(document),
            end_time,
            deadline,
            via,
            int(via is None),
            now,
        ),
    )
    return cursor.rowcount == 1


async def get_proposal(conn: aiosqlite.Connection, proposal_id: str) -> Proposal | None:
    return _proposal(await fetch_one(conn, "SELECT * FROM decision_proposals WHERE id = ?", (proposal_id,)))


async def proposals_awaiting_outcome(conn: aiosqlite.Connection, now: float) -> list[Proposal]:
    rows = await fetch_all(
        conn, "SELECT * FROM decision_proposals WHERE is_issuer = 1 AND outcome IS NULL AND end_time <= ?", (now,)
    )
    return [p for p in map(_proposal, rows) if p is not None]


async def proposals_awaiting_aggregate(conn: aiosqlite.Connection, now: float) -> list[Proposal]:
    rows = await fetch_all(
        conn,
        "SELECT * FROM decision_proposals WHERE is_issuer = 0 AND aggregate_sent_at IS NULL AND end_time <= ?"
        " AND EXISTS (SELECT 1 FROM decision_electorate e WHERE e.proposal_id = decision_proposals.id)",
        (now,),
    )
    return [p for p in map(_proposal, rows) if p is not None]


async def set_outcome(conn: aiosqlite.Connection, proposal_id: str, outcome: dict) -> bool:
    cursor = await conn.execute(
        "UPDATE decision_proposals SET outcome = ? WHERE id = ? AND outcome IS NULL",
        (jsonio.dumps_str(outcome), proposal_id),
    )
    return cursor.rowcount == 1


async def mark_aggregate_sent(conn: aiosqlite.Connection, proposal_id: str, now: float) -> None:
    await conn.execute("UPDATE decision_proposals SET aggregate_sent_at = ? WHERE id = ?", (now, proposal_id))


# --- the electorate ------------------------------------------------------------------------


async def add_elector(
    conn: aiosqlite.Connection,
    proposal_id: str,
    *,
    chapter: str,
    level: str | None,
    via_child: str,
    path: list[str],
    roll: int,
) -> None:
    await conn.execute(
        "INSERT INTO decision_electorate (proposal_id, chapter, level, via_child, path, roll) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (proposal_id, chapter, level, via_child, jsonio.dumps_str(path), roll),
    )


async def electorate(conn: aiosqlite.Connection, proposal_id: str) -> list[dict]:
    rows = await fetch_all(
        conn, "SELECT * FROM decision_electorate WHERE proposal_id = ? ORDER BY via_child, chapter", (proposal_id,)
    )
    return [
        {
            "chapter": r["chapter"],
            "level": r["level"],
            "via": r["via_child"],
            "path": jsonio.loads(r["path"]),
            "roll": r["roll"],
        }
        for r in rows
    ]


async def elector(conn: aiosqlite.Connection, proposal_id: str, chapter: str):
    return await fetch_one(
        conn, "SELECT * FROM decision_electorate WHERE proposal_id = ? AND chapter = ?", (proposal_id, chapter)
    )


# --- this node's copy, its roll and its leaves ---------------------------------------------


async def insert_copy(
    conn: aiosqlite.Connection,
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
    for ours, theirs in questions.items():
        await conn.execute(
            "INSERT INTO decision_copy_questions (question_id, proposal_id, proposal_question) VALUES (?, ?, ?)",
            (ours, proposal_id, theirs),
        )


async def copy_of(conn: aiosqlite.Connection, proposal_id: str):
    return await fetch_one(conn, "SELECT * FROM decision_copies WHERE proposal_id = ?", (proposal_id,))


async def copy_by_id(conn: aiosqlite.Connection, copy_id: str):
    return await fetch_one(conn, "SELECT * FROM decision_copies WHERE copy_id = ?", (copy_id,))


async def copied_question(conn: aiosqlite.Connection, question_id: str):
    """(proposal id, the proposal's question) a question of ours copies, or None."""
    return await fetch_one(conn, "SELECT * FROM decision_copy_questions WHERE question_id = ?", (question_id,))


async def copies_due(conn: aiosqlite.Connection, now: float) -> list[aiosqlite.Row]:
    return await fetch_all(
        conn,
        "SELECT c.*, p.end_time FROM decision_copies c JOIN decision_proposals p ON p.id = c.proposal_id"
        " WHERE c.tally_sent_at IS NULL AND p.end_time <= ?",
        (now,),
    )


async def mark_tally_sent(conn: aiosqlite.Connection, proposal_id: str, tally: dict, now: float) -> None:
    await conn.execute(
        "UPDATE decision_copies SET tally = ?, tally_sent_at = ?, rejected = NULL WHERE proposal_id = ?",
        (jsonio.dumps_str(tally), now, proposal_id),
    )


async def resend_tally(conn: aiosqlite.Connection, proposal_id: str) -> None:
    """The worker builds and sends the tally again (a recount)."""
    await conn.execute("UPDATE decision_copies SET tally_sent_at = NULL WHERE proposal_id = ?", (proposal_id,))


async def mark_copy_rejected(conn: aiosqlite.Connection, proposal_id: str, reason: str) -> None:
    await conn.execute("UPDATE decision_copies SET rejected = ? WHERE proposal_id = ?", (reason, proposal_id))


async def insert_roll(conn: aiosqlite.Connection, proposal_id: str, roll: list[tuple[str, str, float]]) -> None:
    await conn.executemany(
        "INSERT INTO decision_roll (proposal_id, member_id, tag, since) VALUES (?, ?, ?, ?)",
        [(proposal_id, member, tag, since) for member, tag, since in roll],
    )


async def roll_members(conn: aiosqlite.Connection, proposal_id: str) -> frozenset[str]:
    """Everyone on the proposal's frozen roll (read once per inbox batch: the roll never changes)."""
    rows = await fetch_all(conn, "SELECT member_id FROM decision_roll WHERE proposal_id = ?", (proposal_id,))
    return frozenset(row["member_id"] for row in rows)


async def on_roll(conn: aiosqlite.Connection, proposal_id: str, member_id: str) -> bool:
    return bool(
        await fetch_value(
            conn, "SELECT 1 FROM decision_roll WHERE proposal_id = ? AND member_id = ?", (proposal_id, member_id)
        )
    )


async def roll_of(conn: aiosqlite.Connection, proposal_id: str) -> list[aiosqlite.Row]:
    return await fetch_all(conn, "SELECT * FROM decision_roll WHERE proposal_id = ? ORDER BY tag", (proposal_id,))


async def member_of_tag(conn: aiosqlite.Connection, proposal_id: str, tag: str) -> str | None:
    return await fetch_value(
        conn, "SELECT member_id FROM decision_roll WHERE proposal_id = ? AND tag = ?", (proposal_id, tag)
    )


async def insert_leaves(conn: aiosqlite.Connection, leaves: list[tuple[str, dict, str, str]]) -> None:
    """Each ``(proposal id, leaf, receipt, voter)``, in this order (the order of the Merkle tree), in one statement."""
    await conn.executemany(
        "INSERT INTO decision_leaves (proposal_id, question, choice, commitment, receipt, voter)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (proposal_id, leaf["question"], leaf["choice"], leaf["commitment"], receipt, voter)
            for proposal_id, leaf, receipt, voter in leaves
        ],
    )


async def withdraw_voter(conn: aiosqlite.Connection, proposal_id: str, voter: str, reason: str) -> int:
    cursor = await conn.execute(
        "UPDATE decision_leaves SET withdrawn = ? WHERE proposal_id = ? AND voter = ? AND withdrawn IS NULL",
        (reason, proposal_id, voter),
    )
    return cursor.rowcount


async def leaves(conn: aiosqlite.Connection, proposal_id: str) -> list[aiosqlite.Row]:
    """The counted leaves, in the order published (withdrawn ones left out)."""
    return await fetch_all(
        conn,
        "SELECT * FROM decision_leaves WHERE proposal_id = ? AND withdrawn IS NULL ORDER BY seq",
        (proposal_id,),
    )


async def receipts_of(conn: aiosqlite.Connection, proposal_id: str, voter: str) -> list[aiosqlite.Row]:
    return await fetch_all(
        conn,
        "SELECT question, choice, receipt FROM decision_leaves WHERE proposal_id = ? AND voter = ? ORDER BY seq",
        (proposal_id, voter),
    )


# --- tallies received ----------------------------------------------------------------------


async def get_tally(conn: aiosqlite.Connection, proposal_id: str, origin: str):
    return await fetch_one(
        conn, "SELECT * FROM decision_tallies WHERE proposal_id = ? AND origin = ?", (proposal_id, origin)
    )


async def put_tally(
    conn: aiosqlite.Connection,
    proposal_id: str,
    *,
    origin: str,
    kind: str,
    via_child: str,
    status: str,
    reason: str | None,
    document: dict,
    inbox: str | None,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO decision_tallies (proposal_id, origin, kind, via_child, status, reason, document, inbox,"
        " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (proposal_id, origin) DO UPDATE SET"
        " status = excluded.status, reason = excluded.reason, document = excluded.document,"
        " inbox = COALESCE(excluded.inbox, decision_tallies.inbox), received_at = excluded.received_at",
        (proposal_id, origin, kind, via_child, status, reason, jsonio.dumps_str(document), inbox, now),
    )


async def set_tally_rejected(conn: aiosqlite.Connection, proposal_id: str, origin: str, reason: str) -> None:
    await conn.execute(
        "UPDATE decision_tallies SET status = 'rejected', reason = ? WHERE proposal_id = ? AND origin = ?",
        (reason, proposal_id, origin),
    )


async def tallies(conn: aiosqlite.Connection, proposal_id: str) -> list[dict]:
    rows = await fetch_all(conn, "SELECT * FROM decision_tallies WHERE proposal_id = ? ORDER BY origin", (proposal_id,))
    return [
        {
            "origin": r["origin"],
            "kind": r["kind"],
            "via": r["via_child"],
            "status": r["status"],
            "reason": r["reason"],
            "document": jsonio.loads(r["document"]),
            "inbox": r["inbox"],
        }
        for r in rows
    ]


async def add_tags(conn: aiosqlite.Connection, proposal_id: str, chapter: str, entries: list[tuple[str, float, bool]]):
    await conn.execute("DELETE FROM decision_tags WHERE proposal_id = ? AND chapter = ?", (proposal_id, chapter))
    await conn.executemany(
        "INSERT INTO decision_tags (proposal_id, tag, chapter, since, voted) VALUES (?, ?, ?, ?, ?)",
        [(proposal_id, tag, chapter, since, int(voted)) for tag, since, voted in entries],
    )


async def drop_tags(conn: aiosqlite.Connection, proposal_id: str, chapter: str) -> None:
    await conn.execute("DELETE FROM decision_tags WHERE proposal_id = ? AND chapter = ?", (proposal_id, chapter))


async def tags_elsewhere(conn: aiosqlite.Connection, proposal_id: str, chapter: str, tags: list[str]) -> list:
    """Rows of the same tags held by other chapters' accepted tallies."""
    found = []
    for start in range(0, len(tags), 500):
        chunk = tags[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found += await fetch_all(
            conn,
            f"SELECT tag, chapter, since, voted FROM decision_tags WHERE proposal_id = ? AND chapter != ?"
            f" AND tag IN ({marks})",
            (proposal_id, chapter, *chunk),
        )
    return found


async def duplicate_roll_tags(conn: aiosqlite.Connection, proposal_id: str) -> dict[str, int]:
    """By chapter: how many of its roll's tags an earlier membership elsewhere holds (it loses them)."""
    rows = await fetch_all(
        conn,
        "SELECT t.chapter, COUNT(*) AS n FROM decision_tags t WHERE t.proposal_id = ? AND EXISTS"
        " (SELECT 1 FROM decision_tags o WHERE o.proposal_id = t.proposal_id AND o.tag = t.tag"
        " AND o.chapter != t.chapter AND (o.since < t.since OR (o.since = t.since AND o.chapter < t.chapter)))"
        " GROUP BY t.chapter",
        (proposal_id,),
    )
    return {row["chapter"]: row["n"] for row in rows}
