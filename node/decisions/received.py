"""What the subtree sent up, and the issuer's exclusions: the SQL, in small named functions.

``decision_rolls``: each chapter's signed roll as received, with the child it came through
and its size; ``decision_roll_entries``: at the issuer, every roll's commitments (to find a
member on two rolls). ``decision_exclusions``: the issuer's signed exclusions, every
sequence kept (a tally states the one it applied). ``decision_tallies``: each chapter's
signed tally as received, its status (``reported`` or ``refused`` with the reason, in English and
as a message a page translates), and the
figures recounted from its leaves (``recount``) with the roll they are measured against: the
only figures aggregation reads. ``decision_aggregates``: a level's own signed sum, kept for
the results page (never counted: every level recomputes from the chapters' tallies), in a
table of its own so no document can change the kind of another's row.
"""

from __future__ import annotations

from federation import jsonio
from node.core.db import Connection, Row, fetch_all, fetch_one, fetch_value
from node.core.due import TransitionError
from node.core.i18n import message_from_json, message_json
from node.decisions.states import REFUSAL

# --- rolls ---------------------------------------------------------------------------------


async def insert_roll(
    conn: Connection, proposal_id: str, *, chapter: str, via_child: str, size: int, document: dict, now: float
) -> bool:
    """Keep a chapter's roll once (False: one was kept already)."""
    cursor = await conn.execute(
        "INSERT INTO decision_rolls (proposal_id, chapter, via_child, size, document, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (proposal_id, chapter) DO NOTHING",
        (proposal_id, chapter, via_child, size, jsonio.dumps_str(document), now),
    )
    return cursor.rowcount == 1


async def roll_of(conn: Connection, proposal_id: str, chapter: str):
    return await fetch_one(
        conn, "SELECT * FROM decision_rolls WHERE proposal_id = ? AND chapter = ?", (proposal_id, chapter)
    )


async def roll_sizes(conn: Connection, proposal_id: str) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT chapter, size FROM decision_rolls WHERE proposal_id = ?", (proposal_id,))
    return {row["chapter"]: row["size"] for row in rows}


async def insert_roll_entries(conn: Connection, proposal_id: str, chapter: str, entries: list[tuple[str, int]]) -> None:
    await conn.executemany(
        "INSERT INTO decision_roll_entries (proposal_id, commitment, chapter, day) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [(proposal_id, digest, chapter, day) for digest, day in entries],
    )


async def shared_entries(conn: Connection, proposal_id: str, end_time: float) -> list[tuple]:
    """(commitment, chapter, day, late) of every commitment on two rolls or more; ``late``: its roll
    was received here after ``end_time``."""
    rows = await fetch_all(
        conn,
        # the shared commitments once, materialised, then their entries: PostgreSQL, before it has
        # analysed the table, otherwise plans the grouping inside a loop over the entries, once per
        # row (15 s for 10,000 entries, and in the write transaction)
        "WITH shared AS MATERIALIZED (SELECT commitment FROM decision_roll_entries WHERE proposal_id = ?"
        "                             GROUP BY commitment HAVING COUNT(*) > 1)"
        " SELECT e.commitment, e.chapter, e.day, r.received_at > ? AS late FROM shared"
        " JOIN decision_roll_entries e ON e.proposal_id = ? AND e.commitment = shared.commitment"
        " JOIN decision_rolls r ON r.proposal_id = e.proposal_id AND r.chapter = e.chapter",
        (proposal_id, end_time, proposal_id),
    )
    return [(row["commitment"], row["chapter"], row["day"], bool(row["late"])) for row in rows]


# --- the issuer's exclusions ----------------------------------------------------------------


async def insert_exclusions(conn: Connection, proposal_id: str, seq: int, document: dict, now: float) -> bool:
    cursor = await conn.execute(
        "INSERT INTO decision_exclusions (proposal_id, seq, document, received_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (proposal_id, seq, jsonio.dumps_str(document), now),
    )
    return cursor.rowcount == 1


async def exclusions(conn: Connection, proposal_id: str, seq: int | None = None) -> dict | None:
    """The exclusions document of ``seq`` (the newest when None), or None."""
    if seq is None:
        text = await fetch_value(
            conn,
            "SELECT document FROM decision_exclusions WHERE proposal_id = ? ORDER BY seq DESC LIMIT 1",
            (proposal_id,),
        )
    else:
        text = await fetch_value(
            conn, "SELECT document FROM decision_exclusions WHERE proposal_id = ? AND seq = ?", (proposal_id, seq)
        )
    return jsonio.loads(text) if text else None


# --- chapter tallies ------------------------------------------------------------------------


async def get_tally(conn: Connection, proposal_id: str, chapter: str):
    return await fetch_one(
        conn, "SELECT * FROM decision_tallies WHERE proposal_id = ? AND chapter = ?", (proposal_id, chapter)
    )


async def put_tally(
    conn: Connection,
    proposal_id: str,
    *,
    chapter: str,
    via_child: str,
    reason: str | None,
    document: dict,
    recount: dict | None,
    roll: int | None,
    inbox: str | None,
    now: float,
) -> None:
    """Keep a chapter's tally: reported (``reason`` None, with its recount) or refused with the reason
    (kept as a message too, when it is one: a page shows it translated). A reported tally is never
    replaced (the caller checks); a refused one may be, by a recount."""
    await conn.execute(
        "INSERT INTO decision_tallies (proposal_id, chapter, via_child, status, reason, reason_message, document,"
        " recount, roll, inbox, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (proposal_id, chapter) DO UPDATE SET"
        " via_child = excluded.via_child, status = excluded.status, reason = excluded.reason,"
        " reason_message = excluded.reason_message,"
        " document = excluded.document, recount = excluded.recount, roll = excluded.roll,"
        " inbox = COALESCE(excluded.inbox, decision_tallies.inbox), received_at = excluded.received_at"
        " WHERE decision_tallies.status != 'reported' OR excluded.status = 'reported'",
        (
            proposal_id,
            chapter,
            via_child,
            "reported" if reason is None else "refused",
            reason,
            message_json(reason),
            jsonio.dumps_str(document),
            jsonio.dumps_str(recount) if recount is not None else None,
            roll,
            inbox,
            now,
        ),
    )


async def tallies(conn: Connection, proposal_id: str) -> list[dict]:
    rows = await fetch_all(
        conn, "SELECT * FROM decision_tallies WHERE proposal_id = ? ORDER BY chapter", (proposal_id,)
    )
    return [
        {
            "origin": r["chapter"],
            "via": r["via_child"],
            "status": r["status"],
            "reason": message_from_json(r["reason_message"], r["reason"]) if r["reason"] is not None else None,
            "document": jsonio.loads(r["document"]),
            "recount": jsonio.loads(r["recount"]) if r["recount"] else None,
            "roll": r["roll"],
            "inbox": r["inbox"],
        }
        for r in rows
    ]


async def reported_recounts(conn: Connection, proposal_id: str) -> dict[str, tuple[int, dict]]:
    """{chapter: (its roll, its recount)} of the reported tallies: all that aggregation reads."""
    rows = await fetch_all(
        conn,
        "SELECT chapter, roll, recount FROM decision_tallies WHERE proposal_id = ? AND status = 'reported'",
        (proposal_id,),
    )
    return {row["chapter"]: (row["roll"], jsonio.loads(row["recount"])) for row in rows}


# --- aggregates ----------------------------------------------------------------------------


async def put_aggregate(conn: Connection, proposal_id: str, origin: str, document: dict, now: float) -> None:
    await conn.execute(
        "INSERT INTO decision_aggregates (proposal_id, origin, document, received_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (proposal_id, origin) DO UPDATE SET document = excluded.document,"
        " received_at = excluded.received_at",
        (proposal_id, origin, jsonio.dumps_str(document), now),
    )


async def aggregates(conn: Connection, proposal_id: str) -> dict[str, dict]:
    rows = await fetch_all(
        conn, "SELECT origin, document FROM decision_aggregates WHERE proposal_id = ?", (proposal_id,)
    )
    return {row["origin"]: jsonio.loads(row["document"]) for row in rows}


# --- refusals to tell ----------------------------------------------------------------------


async def add_refusal(
    conn: Connection,
    proposal_id: str,
    *,
    chapter: str,
    refused: str,
    kind: str,
    answered: dict,
    reason: str,
    inbox: str | None,
    now: float,
    peer: str | None = None,
) -> None:
    """Keep a refusal of the signed document of ``kind`` by ``chapter`` (its author) whose proof value is
    ``refused``, brought by the activity ``answered`` (what the Reject answers), to tell ``peer`` (the
    linked peer that brought it; the author itself by default) once, at ``inbox``."""
    await conn.execute(
        "INSERT INTO decision_refusals (proposal_id, chapter, peer, refused, kind, document, reason, reason_message,"
        " inbox, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            proposal_id,
            chapter,
            peer or chapter,
            refused,
            kind,
            jsonio.dumps_str(answered),
            reason,
            message_json(reason),
            inbox,
            now,
        ),
    )


async def roll_refusal(conn: Connection, proposal_id: str, chapter: str) -> str | None:
    """Why this level refused the chapter's roll (a message, when it was kept as one), or None."""
    row = await fetch_one(
        conn,
        "SELECT reason, reason_message FROM decision_refusals WHERE proposal_id = ? AND chapter = ?"
        " AND kind = 'DecisionRoll' ORDER BY created_at DESC LIMIT 1",
        (proposal_id, chapter),
    )
    return message_from_json(row["reason_message"], row["reason"]) if row is not None else None


async def refusals_due(conn: Connection) -> list[Row]:
    """Refusals whose chapter has not been sent them yet."""
    return await fetch_all(conn, "SELECT * FROM decision_refusals WHERE sent_at IS NULL")


async def mark_refusal_sent(conn: Connection, proposal_id: str, chapter: str, refused: str, now: float) -> None:
    """``untold`` -> ``told`` (``states.REFUSAL``): a refusal is sent to its chapter once."""
    REFUSAL.check("untold", "told")
    cursor = await conn.execute(
        "UPDATE decision_refusals SET sent_at = ? WHERE proposal_id = ? AND chapter = ? AND refused = ?"
        " AND sent_at IS NULL",
        (now, proposal_id, chapter, refused),
    )
    if cursor.rowcount != 1:
        raise TransitionError(f"{REFUSAL.name}: {refused} of {chapter} is not untold: it cannot be told again")
